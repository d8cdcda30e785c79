from faabric.cli import main

main(prog_name="faabric")
