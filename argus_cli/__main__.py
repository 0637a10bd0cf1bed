from argus_cli.cli.app import main

main()
