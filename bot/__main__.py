"""`python -m bot` is the same as the `pantau` command."""

from bot.cli import main

raise SystemExit(main())
