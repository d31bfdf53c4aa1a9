"""`python local/render_sfn.py [...]`: convoy_local.render as a script (cli/tests/stack.rs runs it by path)."""

from convoy_local.render import main

if __name__ == "__main__":
    main()
