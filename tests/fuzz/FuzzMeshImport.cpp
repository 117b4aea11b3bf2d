#include "FuzzMeshImport.h"

#include "anatomy/MeshIo.h"
#include "core/Assert.h"

#include <cmath>
#include <span>
#include <string>

namespace precis::fuzz {

const char* fuzzMeshFileName(std::uint8_t selector) {
    static const char* const kNames[] = {"fuzz.stl", "fuzz.obj", "fuzz.ply", "fuzz.gltf",
                                         "fuzz.glb"};
    return kNames[selector % 5];
}

int fuzzMeshImport(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string name = fuzzMeshFileName(data[0]);
    auto r = anatomy::importMeshFromMemory(std::span(data + 1, size - 1), name);
    if (!r) {
        PRECIS_ASSERT(r.error().code == ErrorCode::ParseError, "mesh import errors are ParseErrors");
        PRECIS_ASSERT(r.error().message.find(name) != std::string::npos,
                      "mesh import errors name the file");
        return 0;
    }
    PRECIS_ASSERT(!r->mesh.empty(), "an imported mesh has triangles");
    for (std::uint32_t i : r->mesh.indices)
        PRECIS_ASSERT(i < r->mesh.positions.size(), "imported indices are in range");
    for (const auto& p : r->mesh.positions)
        PRECIS_ASSERT(std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.z),
                      "imported coordinates are finite");
    return 0;
}

} // namespace precis::fuzz
