#include "anatomy/MeshIo.h"

#include "core/AtomicFile.h"

#include <assimp/Exporter.hpp>
#include <assimp/Importer.hpp>
#include <assimp/importerdesc.h>
#include <assimp/postprocess.h>
#include <assimp/scene.h>
#include <meshoptimizer.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <memory>

namespace precis::anatomy {
namespace {

std::string lowerExtension(const std::filesystem::path& file) {
    std::string ext = file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

/// mtllib lines of an OBJ whose files do not exist beside it. Assimp carries on without them (a
/// default material), so this only feeds the report.
std::vector<std::string> missingMaterialFiles(const std::filesystem::path& obj) {
    std::vector<std::string> missing;
    std::ifstream in(obj);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("mtllib", 0) != 0 || line.size() < 7 || !std::isspace(line[6])) continue;
        std::string name = line.substr(7);
        while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())))
            name.pop_back();
        while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front())))
            name.erase(name.begin());
        if (!name.empty() && !std::filesystem::exists(obj.parent_path() / name))
            missing.push_back((obj.parent_path() / name).string());
    }
    return missing;
}

glm::dmat4 toGlm(const aiMatrix4x4& m) {
    // aiMatrix4x4 is row-major (a1..a4 is the first row); glm is column-major.
    return glm::dmat4(m.a1, m.b1, m.c1, m.d1, m.a2, m.b2, m.c2, m.d2, m.a3, m.b3, m.c3, m.d3,
                      m.a4, m.b4, m.c4, m.d4);
}

struct Collector {
    const aiScene* scene = nullptr;
    glm::dmat4 lpsFromFile{1.0};
    model::Mesh mesh;
    std::size_t droppedFaces = 0, meshes = 0;
    bool mirrored = false;

    void visit(const aiNode* node, const glm::dmat4& parent) {
        const glm::dmat4 world = parent * toGlm(node->mTransformation);
        const glm::dmat4 full = lpsFromFile * world;
        const bool flip = glm::determinant(glm::dmat3(full)) < 0;
        for (unsigned k = 0; k < node->mNumMeshes; ++k) {
            const aiMesh* m = scene->mMeshes[node->mMeshes[k]];
            const auto base = static_cast<std::uint32_t>(mesh.positions.size());
            for (unsigned v = 0; v < m->mNumVertices; ++v) {
                const aiVector3D& p = m->mVertices[v];
                mesh.positions.emplace_back(glm::dvec3(full * glm::dvec4(p.x, p.y, p.z, 1.0)));
            }
            for (unsigned f = 0; f < m->mNumFaces; ++f) {
                const aiFace& face = m->mFaces[f];
                if (face.mNumIndices != 3) {
                    ++droppedFaces;
                    continue;
                }
                mesh.indices.push_back(base + face.mIndices[0]);
                mesh.indices.push_back(base + face.mIndices[flip ? 2 : 1]);
                mesh.indices.push_back(base + face.mIndices[flip ? 1 : 2]);
            }
            mirrored = mirrored || flip;
            ++meshes;
        }
        for (unsigned c = 0; c < node->mNumChildren; ++c) visit(node->mChildren[c], world);
    }
};

void weld(model::Mesh& mesh) {
    std::vector<unsigned int> remap(mesh.positions.size());
    const std::size_t unique = meshopt_generateVertexRemap(
        remap.data(), mesh.indices.data(), mesh.indices.size(), mesh.positions.data(),
        mesh.positions.size(), sizeof(glm::vec3));
    std::vector<glm::vec3> positions(unique);
    meshopt_remapVertexBuffer(positions.data(), mesh.positions.data(), mesh.positions.size(),
                              sizeof(glm::vec3), remap.data());
    meshopt_remapIndexBuffer(mesh.indices.data(), mesh.indices.data(), mesh.indices.size(),
                             remap.data());
    mesh.positions = std::move(positions);
}

const char* kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const unsigned char* data, std::size_t size) {
    std::string out;
    out.reserve((size + 2) / 3 * 4);
    for (std::size_t i = 0; i < size; i += 3) {
        const std::uint32_t n = (std::uint32_t(data[i]) << 16) |
                                (i + 1 < size ? std::uint32_t(data[i + 1]) << 8 : 0u) |
                                (i + 2 < size ? std::uint32_t(data[i + 2]) : 0u);
        out += kBase64[(n >> 18) & 63];
        out += kBase64[(n >> 12) & 63];
        out += i + 1 < size ? kBase64[(n >> 6) & 63] : '=';
        out += i + 2 < size ? kBase64[n & 63] : '=';
    }
    return out;
}

/// A one-mesh aiScene over `mesh` (copied: aiScene owns and frees its arrays).
std::unique_ptr<aiScene> makeScene(const model::Mesh& mesh) {
    auto scene = std::make_unique<aiScene>();
    scene->mRootNode = new aiNode("precis-mesh-lps-mm");
    scene->mRootNode->mNumMeshes = 1;
    scene->mRootNode->mMeshes = new unsigned[1]{0};
    scene->mNumMaterials = 1;
    scene->mMaterials = new aiMaterial*[1]{new aiMaterial};
    scene->mNumMeshes = 1;
    scene->mMeshes = new aiMesh*[1]{new aiMesh};
    aiMesh& m = *scene->mMeshes[0];
    m.mName = "surface";
    m.mPrimitiveTypes = aiPrimitiveType_TRIANGLE;
    m.mMaterialIndex = 0;
    m.mNumVertices = static_cast<unsigned>(mesh.positions.size());
    m.mVertices = new aiVector3D[m.mNumVertices];
    for (unsigned v = 0; v < m.mNumVertices; ++v)
        m.mVertices[v] = aiVector3D(mesh.positions[v].x, mesh.positions[v].y, mesh.positions[v].z);
    if (mesh.normals.size() == mesh.positions.size()) {
        m.mNormals = new aiVector3D[m.mNumVertices];
        for (unsigned v = 0; v < m.mNumVertices; ++v)
            m.mNormals[v] = aiVector3D(mesh.normals[v].x, mesh.normals[v].y, mesh.normals[v].z);
    }
    m.mNumFaces = static_cast<unsigned>(mesh.triangleCount());
    m.mFaces = new aiFace[m.mNumFaces];
    for (unsigned f = 0; f < m.mNumFaces; ++f) {
        m.mFaces[f].mNumIndices = 3;
        m.mFaces[f].mIndices =
            new unsigned[3]{mesh.indices[3 * f], mesh.indices[3 * f + 1], mesh.indices[3 * f + 2]};
    }
    return scene;
}

} // namespace

double millimetresPer(LengthUnit unit) {
    switch (unit) {
    case LengthUnit::Millimetres: return 1.0;
    case LengthUnit::Centimetres: return 10.0;
    case LengthUnit::Metres: return 1000.0;
    case LengthUnit::Inches: return 25.4;
    }
    return 1.0;
}

std::string_view toString(LengthUnit unit) {
    switch (unit) {
    case LengthUnit::Millimetres: return "millimetres";
    case LengthUnit::Centimetres: return "centimetres";
    case LengthUnit::Metres: return "metres";
    case LengthUnit::Inches: return "inches";
    }
    return "?";
}

Result<ImportedMesh> importMesh(const std::filesystem::path& file,
                                const MeshImportOptions& options) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
        return fail(ErrorCode::NotFound, fmt::format("Mesh file not found: {}", file.string()));
    const std::string ext = lowerExtension(file);
    ImportedMesh out;
    const bool gltf = ext == ".gltf" || ext == ".glb";
    out.unit = options.unit.value_or(gltf ? LengthUnit::Metres : LengthUnit::Millimetres);
    if (!options.unit)
        out.report.add("assumed-unit",
                       fmt::format("{} does not state its unit; assumed {}{}.",
                                   file.filename().string(), toString(out.unit),
                                   gltf ? " (the glTF convention)" : ""),
                       {file.string()});
    if (ext == ".obj")
        for (const std::string& mtl : missingMaterialFiles(file))
            out.report.add("missing-material",
                           fmt::format("Material file {} is missing; the geometry was read "
                                       "without it.",
                                       std::filesystem::path(mtl).filename().string()),
                           {mtl});

    Assimp::Importer importer;
    // Only positions matter: dropping the rest lets coincident vertices weld across seams.
    importer.SetPropertyInteger(AI_CONFIG_PP_RVC_FLAGS,
                                aiComponent_NORMALS | aiComponent_TANGENTS_AND_BITANGENTS |
                                    aiComponent_COLORS | aiComponent_TEXCOORDS |
                                    aiComponent_BONEWEIGHTS | aiComponent_ANIMATIONS |
                                    aiComponent_TEXTURES | aiComponent_LIGHTS |
                                    aiComponent_CAMERAS);
    const aiScene* scene = nullptr;
    try {
        scene = importer.ReadFile(file.string(), aiProcess_RemoveComponent | aiProcess_Triangulate |
                                                     aiProcess_ValidateDataStructure);
    } catch (const std::exception& e) {
        return fail(ErrorCode::ParseError,
                    fmt::format("Could not read the mesh file {}.", file.string()), e.what());
    }
    if (!scene || (scene->mFlags & AI_SCENE_FLAGS_INCOMPLETE) || !scene->mRootNode)
        return fail(ErrorCode::ParseError,
                    fmt::format("Could not read the mesh file {}: it is corrupt, truncated or in a "
                                "format that cannot be read.",
                                file.string()),
                    importer.GetErrorString());
    const int importerIndex = importer.GetPropertyInteger("importerIndex", -1);
    if (const aiImporterDesc* desc =
            importerIndex >= 0 ? importer.GetImporterInfo(std::size_t(importerIndex)) : nullptr)
        out.format = desc->mName;
    else
        out.format = ext;

    Collector collector;
    collector.scene = scene;
    collector.lpsFromFile = options.toLps * glm::dmat4(glm::dmat3(millimetresPer(out.unit)));
    collector.visit(scene->mRootNode, glm::dmat4(1.0));
    if (collector.mesh.empty())
        return fail(ErrorCode::ParseError,
                    fmt::format("The mesh file {} contains no triangles.", file.string()),
                    fmt::format("{} meshes, {} faces dropped (points or lines)", scene->mNumMeshes,
                                collector.droppedFaces));
    if (collector.droppedFaces)
        out.report.add("dropped-primitives",
                       fmt::format("{} points or lines in {} were ignored (only triangles are "
                                   "used).",
                                   collector.droppedFaces, file.filename().string()),
                       {file.string()});
    if (collector.mirrored)
        out.report.add("mirrored",
                       "The transform to LPS mirrors the mesh; triangle winding was flipped to "
                       "keep normals pointing outwards.",
                       {file.string()});
    out.mesh = std::move(collector.mesh);
    out.sourceMeshes = collector.meshes;
    weld(out.mesh);
    const glm::dvec3 size = out.mesh.bounds().size();
    const double extentMm = std::max({size.x, size.y, size.z});
    if (extentMm < 1.0 || extentMm > 5000.0)
        out.report.add("suspicious-size",
                       fmt::format("{} is {:.4g} mm across when read as {}; check the unit.",
                                   file.filename().string(), extentMm, toString(out.unit)),
                       {file.string()});
    out.mesh.computeNormals();
    return out;
}

Result<void> exportMesh(const model::Mesh& mesh, const std::filesystem::path& file,
                        MeshFileFormat format) {
    if (mesh.empty())
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("Nothing to save to {}: the mesh has no triangles.", file.string()));
    if (format == MeshFileFormat::FromExtension) {
        const std::string ext = lowerExtension(file);
        if (ext == ".stl") format = MeshFileFormat::StlBinary;
        else if (ext == ".obj") format = MeshFileFormat::Obj;
        else if (ext == ".ply") format = MeshFileFormat::PlyBinary;
        else if (ext == ".gltf") format = MeshFileFormat::Gltf;
        else if (ext == ".glb") format = MeshFileFormat::Glb;
        else
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("Cannot save a mesh as {}: use .stl, .obj, .ply, .gltf or "
                                    ".glb.",
                                    file.string()));
    }
    const char* id = "stlb";
    switch (format) {
    case MeshFileFormat::FromExtension:
    case MeshFileFormat::StlBinary: id = "stlb"; break;
    case MeshFileFormat::Obj: id = "objnomtl"; break;
    case MeshFileFormat::PlyBinary: id = "plyb"; break;
    case MeshFileFormat::Gltf: id = "gltf2"; break;
    case MeshFileFormat::Glb: id = "glb2"; break;
    }
    std::unique_ptr<aiScene> scene = makeScene(mesh);
    Assimp::Exporter exporter;
    const aiExportDataBlob* blob = nullptr;
    try {
        blob = exporter.ExportToBlob(scene.get(), id);
    } catch (const std::exception& e) {
        return fail(ErrorCode::Internal, fmt::format("Could not save {}.", file.string()), e.what());
    }
    if (!blob)
        return fail(ErrorCode::Internal, fmt::format("Could not save {}.", file.string()),
                    exporter.GetErrorString());
    std::string text(static_cast<const char*>(blob->data), blob->size);
    if (format == MeshFileFormat::Gltf) {
        // Assimp writes the buffer as a second blob referenced by a placeholder name; embed it as
        // a data URI so the .gltf is one self-contained file (and one atomic save).
        const std::string placeholder = "\"$blobfile.bin\"";
        const auto at = text.find(placeholder);
        if (!blob->next || at == std::string::npos)
            return fail(ErrorCode::Internal, fmt::format("Could not save {}.", file.string()),
                        "unexpected glTF blob layout from Assimp");
        text.replace(at, placeholder.size(),
                     "\"data:application/octet-stream;base64," +
                         base64(static_cast<const unsigned char*>(blob->next->data),
                                blob->next->size) +
                         "\"");
    }
    return writeFileAtomically(file, text);
}

} // namespace precis::anatomy
