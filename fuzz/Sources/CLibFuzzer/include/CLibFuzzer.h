// libFuzzer's entry point for programs with a main of their own (SwiftPM's executables have one):
// parses libFuzzer's flags from argv and runs `callback` on each input. Linked by
// -sanitize=fuzzer.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
