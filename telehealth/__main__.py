from telehealth.cli import main

raise SystemExit(main())
