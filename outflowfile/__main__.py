from outflowfile.launch import main

main()
