"""`python -m zongheng` runs the command line."""

from zongheng.cli import main

if __name__ == "__main__":
    main()
