"""`python local/seed_demo.py [...]`: convoy_local.seed as a script (cli/tests/common runs it by path)."""

from convoy_local.seed import main

if __name__ == "__main__":
    main()
