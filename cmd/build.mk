# cmd/ — the `ignis` command, one file per subcommand.
CLI_SRCS += cmd/main.c cmd/common.c cmd/report.c
CLI_SRCS += cmd/stop.c
