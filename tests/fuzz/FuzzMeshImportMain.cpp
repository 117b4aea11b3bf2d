// libFuzzer entry (clang -fsanitize=fuzzer,address): precis_fuzz_mesh_import CORPUS_DIR
#include "FuzzMeshImport.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return precis::fuzz::fuzzMeshImport(data, size);
}
