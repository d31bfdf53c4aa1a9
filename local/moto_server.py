"""`python local/moto_server.py [...]`: convoy_local.moto_server as a script (convoy-testkit runs it by path)."""

from convoy_local.moto_server import main

if __name__ == "__main__":
    main()
