from gitroi.cli import main

raise SystemExit(main())
