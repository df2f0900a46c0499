from infra.capacity.cli import main

raise SystemExit(main())
