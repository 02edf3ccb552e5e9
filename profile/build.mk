# profile/ — the one profile model (samples, stacks, locations, functions,
# mappings, labels) and the call tree built from it.
LIB_SRCS += profile/version.c
