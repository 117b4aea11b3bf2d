#include "Cli.h"

int main(int argc, char** argv) { return precis::app::runCli(argc, argv); }
