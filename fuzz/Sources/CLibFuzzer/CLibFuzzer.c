// Only a header: this file gives the module a source, as SwiftPM requires.
#include "CLibFuzzer.h"
