from blackstart.cli import main

main()
