from gatehouse.cli.main import main

main()
