// libFuzzer entry (clang -fsanitize=fuzzer,address): precis_fuzz_series CORPUS_DIR
#include "FuzzSeries.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return precis::fuzz::fuzzSeries(data, size);
}
