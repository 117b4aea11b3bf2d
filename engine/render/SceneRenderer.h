#pragma once
// Draws the 3D scene: surface meshes (opaque, and translucent with weighted blended
// order-independent transparency), slice planes of a volume, and the background gradient.
//
// The scene is rendered in the renderer's own pass into its own image (colour + depth, + the OIT
// accumulation and revealage targets), in three subpasses: opaque, translucent accumulation,
// composite. The result is then copied into a viewport of any target using the main render-pass
// layout (offscreen target, the app's swapchain), so targets, ImGui and slice views never see the
// OIT attachments.
//
// Frame qualities (FrameQuality): a final frame is rendered at the view's full size with 4x MSAA
// (where supported) and copied 1:1; a still frame likewise without MSAA (on a CPU rasteriser
// MSAA triples the cost of a frame); an interactive frame (while the camera moves) without MSAA
// at kInteractiveScale of the view's size in each direction, magnified with linear filtering,
// drawing only the near side of translucent surfaces (back faces culled): this cuts the fill
// work, the bulk of a frame on a CPU rasteriser, more than 16-fold. Progressive refines a
// resting view: a still frame while the scene changes, one final frame once it has not changed
// since the last frame, then nothing (the final image is copied again) until it changes.
//
// Meshes honour the scene's ClipState through clip distances (the plane and the six faces of the
// box), so clipped geometry costs no fragment work; Drawable::clipped = false exempts overlays.
//
// Per frame: prepare() outside any render pass, then record() inside the target's pass. One
// renderer holds one scene image per quality: use one renderer per 3D view.
#include "core/Error.h"
#include "model/Mesh.h"
#include "render/Camera.h"
#include "render/Context.h"
#include "render/GpuMesh.h"
#include "render/GpuVolume.h"
#include "render/Image.h"
#include "render/SliceView.h"
#include "render/ViewTypes.h"
#include "render/detail/Resources.h"

#include <glm/glm.hpp>

#include <memory>
#include <span>

namespace precis::render {

class SliceRenderer;
namespace detail {
struct ShaderModules;
}

/// A mesh to draw and its display colour (sRGB-encoded RGBA; alpha < 1: translucent, OIT).
struct MeshItem {
    const model::Mesh* mesh = nullptr;
    glm::vec4 colorRgba{0.89f, 0.85f, 0.78f, 1.0f};
};

/// A mesh already on the GPU, as the app's view state shows it.
struct Drawable {
    std::shared_ptr<const GpuMesh> mesh;
    glm::vec4 colorRgba{0.89f, 0.85f, 0.78f, 1.0f};
    bool visible = true;
    bool clipped = true; // false: drawn whole whatever Scene::clip says (planning overlays)
};

/// A slice plane in the 3D view: the slice image (outside the volume: nothing) and/or a frame.
struct SlicePlaneItem {
    std::shared_ptr<const GpuVolume> volume;
    SliceView view;
    SliceDisplay display;
    bool showImage = true;
    glm::vec4 frameColor{0.0f}; // sRGB-encoded; alpha 0: no frame
};

/// Vertical gradient behind the scene (sRGB-encoded), dark blue-grey by default.
struct Background {
    glm::vec4 top{0.27f, 0.31f, 0.37f, 1.0f};
    glm::vec4 bottom{0.07f, 0.08f, 0.10f, 1.0f};
};

struct Scene {
    std::span<const Drawable> drawables;
    std::span<const SlicePlaneItem> planes;
    Background background;
    ClipState clip; // cuts the drawables (not the slice planes, which are cuts themselves)
};

enum class FrameQuality {
    Final,       // full size, MSAA: screenshots, reports, the resting view
    Still,       // full size, no MSAA: the first frame after the camera stops
    Interactive, // while the camera moves: reduced size, no MSAA (see the file comment)
    Progressive, // Still, Final or nothing, by whether the scene changed (see the file comment)
};

class SceneRenderer {
public:
    /// Builds the scene pass and its pipelines, and the copy pipeline for subpass 0 of
    /// `targetPass` (the main layout) rendered with `targetSamples`.
    static Result<std::unique_ptr<SceneRenderer>> create(Context& ctx, VkRenderPass targetPass,
                                                         VkSampleCountFlagBits targetSamples);
    ~SceneRenderer();
    SceneRenderer(const SceneRenderer&) = delete;
    SceneRenderer& operator=(const SceneRenderer&) = delete;

    /// Fraction of the view's width and height rendered by an interactive frame.
    static constexpr float kInteractiveScale = 0.5f;

    /// Records the scene pass (outside any render pass) into the renderer's image for `quality`
    /// at `size` view pixels (scaled for interactive frames), (re)created when the size changes;
    /// Progressive may record nothing (lastQuality() says what it drew). The scene's meshes and
    /// volumes must not change content while they are in use (GpuMesh is immutable; a
    /// GpuVolume's palette is compared). DeviceError when that fails.
    Result<void> prepare(VkCommandBuffer cmd, const Scene& scene, const Camera& camera,
                         VkExtent2D size, FrameQuality quality = FrameQuality::Final);
    /// Inside the target's render pass: copies the last prepared image into `viewport` (whose
    /// size should be the prepared size): 1:1 for a still frame, magnified for an interactive
    /// one. Nothing before the first prepare().
    void record(VkCommandBuffer cmd, const ViewportRect& viewport) const;

    /// Triangles of the visible meshes in the image record() copies.
    [[nodiscard]] std::size_t lastTriangleCount() const { return lastTriangles_; }
    /// The quality of the image record() copies (Final, Still or Interactive).
    [[nodiscard]] FrameQuality lastQuality() const { return lastQuality_; }
    /// Whether the last prepare() recorded a frame (Progressive on an unchanged scene does not).
    [[nodiscard]] bool lastPrepareRendered() const { return lastRendered_; }

private:
    struct Variant; // one quality's pass, pipelines and size-dependent images
    explicit SceneRenderer(Context& ctx);
    Result<void> buildVariant(Variant& v);
    Result<void> createImages(Variant& v, VkExtent2D size);
    void destroyImages(Variant& v);
    void destroyVariant(Variant& v);

    Context* ctx_;
    VkFormat accumFormat_ = VK_FORMAT_R16G16B16A16_SFLOAT;
    VkFormat revealFormat_ = VK_FORMAT_R16_SFLOAT;
    VkDescriptorSetLayout clipSetLayout_ = VK_NULL_HANDLE;
    VkPipelineLayout meshLayout_ = VK_NULL_HANDLE;
    VkPipelineLayout backgroundLayout_ = VK_NULL_HANDLE;
    VkDescriptorSetLayout compositeSetLayout_ = VK_NULL_HANDLE;
    VkPipelineLayout compositeLayout_ = VK_NULL_HANDLE;
    VkDescriptorSetLayout blitSetLayout_ = VK_NULL_HANDLE;
    VkPipelineLayout blitLayout_ = VK_NULL_HANDLE;
    VkPipeline blit_ = VK_NULL_HANDLE;
    VkDescriptorPool pool_ = VK_NULL_HANDLE;
    VkSampler nearest_ = VK_NULL_HANDLE, linear_ = VK_NULL_HANDLE;
    std::unique_ptr<detail::ShaderModules> modules_; // kept for variants built on first use
    // The clip planes (scene, and "keep everything" for unclipped drawables), written by
    // vkCmdUpdateBuffer at the start of each prepare().
    detail::Buffer clipBuffer_;
    VkDescriptorSet clipSet_ = VK_NULL_HANDLE, noClipSet_ = VK_NULL_HANDLE;
    std::unique_ptr<Variant> variants_[3];   // by FrameQuality (Final, Still, Interactive)
    const Variant* last_ = nullptr;          // prepared last; record() copies its image
    VkExtent2D lastSize_{0, 0};               // the view size it was prepared for
    std::size_t lastTriangles_ = 0;
    FrameQuality lastQuality_ = FrameQuality::Final;
    bool lastRendered_ = false;
    std::string lastKey_; // what the last image shows (sceneKey), for Progressive
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
/// A scene of GPU drawables and slice planes, rendered offscreen and read back.
Result<ImageRgba8> renderSceneOffscreen(Context& ctx, const Scene& scene, const Camera& camera,
                                        int width, int height, const OffscreenOptions& options = {});

} // namespace precis::render
