// libFuzzer entry (clang -fsanitize=fuzzer,address): precis_fuzz_markups CORPUS_DIR
#include "FuzzMarkups.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return precis::fuzz::fuzzMarkups(data, size);
}
