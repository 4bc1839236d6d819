from outflowfile.cli import main

main()
