from argus_cli.cli.entry import main

main()
