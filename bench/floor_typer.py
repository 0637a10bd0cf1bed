"""The framework's floor: a one-command Typer app that imports psutil and reads memory."""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False)


@app.command()
def main() -> None:
    import psutil

    print(psutil.virtual_memory().percent)


if __name__ == "__main__":
    app()
