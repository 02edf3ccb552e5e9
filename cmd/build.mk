# cmd/ — the `ignis` command, one file per subcommand.
CLI_SRCS += cmd/main.c cmd/common.c cmd/report.c
CLI_SRCS += cmd/stop.c
# `ignis report` on 1M distinct stacks (time and peak RSS)
BENCH_SCRIPTS += bench/report.sh
