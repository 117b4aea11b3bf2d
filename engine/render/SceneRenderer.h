#pragma once
// Draws surface meshes (and the background gradient) into a render pass of any target: the
// offscreen target (tests, CLI, screenshots) or the app's swapchain. Pipelines depend on the
// target's render pass; drawables (GpuMesh) are shared by all targets of a Context.
#include "core/Error.h"
#include "model/Mesh.h"
#include "render/Camera.h"
#include "render/Context.h"
#include "render/GpuMesh.h"
#include "render/Image.h"

#include <glm/glm.hpp>

#include <memory>
#include <span>

namespace precis::render {

/// A mesh to draw and its display colour (sRGB-encoded RGBA; alpha < 1 blends, unsorted).
struct MeshItem {
    const model::Mesh* mesh = nullptr;
    glm::vec4 colorRgba{0.89f, 0.85f, 0.78f, 1.0f};
};

/// A mesh already on the GPU, as the app's view state shows it.
struct Drawable {
    std::shared_ptr<const GpuMesh> mesh;
    glm::vec4 colorRgba{0.89f, 0.85f, 0.78f, 1.0f};
    bool visible = true;
};

/// Vertical gradient behind the scene (sRGB-encoded), dark blue-grey by default.
struct Background {
    glm::vec4 top{0.27f, 0.31f, 0.37f, 1.0f};
    glm::vec4 bottom{0.07f, 0.08f, 0.10f, 1.0f};
};

/// Pixels of the target, origin top-left.
struct ViewportRect {
    float x = 0, y = 0, width = 0, height = 0;
};

class SceneRenderer {
public:
    /// Builds the pipelines for `renderPass` (subpass 0) rendered with `samples`.
    static Result<std::unique_ptr<SceneRenderer>> create(Context& ctx, VkRenderPass renderPass,
                                                         VkSampleCountFlagBits samples);
    ~SceneRenderer();
    SceneRenderer(const SceneRenderer&) = delete;
    SceneRenderer& operator=(const SceneRenderer&) = delete;

    /// Records background + visible drawables (opaque first, then translucent) into the render
    /// pass that `cmd` is inside. Sets viewport and scissor to `viewport`.
    void record(VkCommandBuffer cmd, std::span<const Drawable> drawables, const Camera& camera,
                const ViewportRect& viewport, const Background& background = {}) const;

private:
    explicit SceneRenderer(Context& ctx) : ctx_(&ctx) {}
    Context* ctx_;
    VkPipelineLayout meshLayout_ = VK_NULL_HANDLE;
    VkPipelineLayout backgroundLayout_ = VK_NULL_HANDLE;
    VkPipeline opaque_ = VK_NULL_HANDLE;
    VkPipeline translucent_ = VK_NULL_HANDLE;
    VkPipeline background_ = VK_NULL_HANDLE;
};

struct OffscreenOptions {
    bool orientationLabels = true; // edge letters (A/P/L/R/S/I) burnt into the image
    Background background;
};

/// Renders meshes to a width x height image (4x MSAA where supported) and reads it back. Uploads
/// the meshes each call; for repeated frames keep an OffscreenTarget, SceneRenderer and GpuMeshes.
/// InvalidArgument for a null mesh or a size outside 1..device limit; DeviceError otherwise.
Result<ImageRgba8> renderMeshesOffscreen(Context& ctx, std::span<const MeshItem> items,
                                         const Camera& camera, int width, int height);
Result<ImageRgba8> renderMeshesOffscreen(Context& ctx, std::span<const MeshItem> items,
                                         const Camera& camera, int width, int height,
                                         const OffscreenOptions& options);

} // namespace precis::render
