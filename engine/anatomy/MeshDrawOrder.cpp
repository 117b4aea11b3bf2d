#include "anatomy/MeshDrawOrder.h"

#include <meshoptimizer.h>

#include <vector>

namespace precis::anatomy {

void optimizeDrawOrder(model::Mesh& mesh) {
    if (mesh.indices.empty()) return;
    const std::size_t n = mesh.positions.size();
    std::vector<std::uint32_t> indices(mesh.indices.size());
    meshopt_optimizeVertexCache(indices.data(), mesh.indices.data(), mesh.indices.size(), n);
    // Vertices in first-use order (and unused ones dropped): a remap table applied to both
    // attribute streams.
    std::vector<std::uint32_t> remap(n);
    const std::size_t used = meshopt_optimizeVertexFetchRemap(remap.data(), indices.data(), indices.size(), n);
    meshopt_remapIndexBuffer(mesh.indices.data(), indices.data(), indices.size(), remap.data());
    std::vector<glm::vec3> positions(used);
    meshopt_remapVertexBuffer(positions.data(), mesh.positions.data(), n, sizeof(glm::vec3), remap.data());
    mesh.positions = std::move(positions);
    if (mesh.normals.size() == n) {
        std::vector<glm::vec3> normals(used);
        meshopt_remapVertexBuffer(normals.data(), mesh.normals.data(), n, sizeof(glm::vec3), remap.data());
        mesh.normals = std::move(normals);
    }
}

} // namespace precis::anatomy
