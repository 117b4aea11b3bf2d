#pragma once
// Presentation to a window. The app owns the window and creates the VkSurfaceKHR (e.g. with
// glfwCreateWindowSurface on Context::instance()); it hands it in through SurfaceSource, so this
// module never sees a windowing library. Same render pass layout as OffscreenTarget (colour, one
// sample, + depth), so SceneRenderer and overlay renderers (the app's ImGui) draw into it the
// same way.
//
// Frames in flight: kFramesInFlight command buffers / fences; beginFrame() waits for the oldest
// and then runs the Context's deferred destructions that became safe.
// Resize: the swapchain is recreated when the surface reports out-of-date/suboptimal or its size
// changed; while the window is minimised (zero size) beginFrame() returns no frame.
#include "core/Error.h"
#include "render/Context.h"
#include "render/Image.h"
#include "render/detail/Resources.h"

#include <glm/glm.hpp>

#include <array>
#include <memory>
#include <optional>
#include <vector>

namespace precis::render {

/// Implemented by the app's window. The surface must outlive the SwapchainTarget.
class SurfaceSource {
public:
    virtual ~SurfaceSource() = default;
    [[nodiscard]] virtual VkSurfaceKHR surface() const = 0;
    /// Current drawable size in pixels; {0, 0} while minimised.
    [[nodiscard]] virtual VkExtent2D framebufferExtent() const = 0;
};

struct SwapchainOptions {
    bool vsync = true; // FIFO; otherwise MAILBOX/IMMEDIATE when available
};

struct SwapchainFrame {
    VkCommandBuffer cmd = VK_NULL_HANDLE; // recording; inside no render pass yet
    VkExtent2D extent{};
    std::uint32_t imageIndex = 0;
    std::uint32_t frameIndex = 0; // 0..kFramesInFlight-1
};

class SwapchainTarget {
public:
    static constexpr std::uint32_t kFramesInFlight = 2;

    /// DeviceError when the Context was created without `presentation` or its queue cannot
    /// present to this surface.
    static Result<std::unique_ptr<SwapchainTarget>> create(Context& ctx, const SurfaceSource& source,
                                                           const SwapchainOptions& options = {});
    ~SwapchainTarget();
    SwapchainTarget(const SwapchainTarget&) = delete;
    SwapchainTarget& operator=(const SwapchainTarget&) = delete;

    [[nodiscard]] VkRenderPass renderPass() const { return renderPass_; } // stable across resizes
    [[nodiscard]] VkSampleCountFlagBits samples() const { return samples_; }
    [[nodiscard]] VkFormat colorFormat() const { return format_.format; }
    [[nodiscard]] VkExtent2D extent() const { return extent_; }
    [[nodiscard]] std::uint32_t imageCount() const { return static_cast<std::uint32_t>(images_.size()); }
    [[nodiscard]] std::uint32_t minImageCount() const { return minImageCount_; }
    /// True when the surface allows copying images back (screenshots through endFrame).
    [[nodiscard]] bool canCapture() const { return canCapture_; }

    /// Waits for a free frame slot and acquires an image. std::nullopt: nothing to draw this time
    /// (minimised, or the swapchain was out of date and has been recreated) — just try again.
    Result<std::optional<SwapchainFrame>> beginFrame();
    /// Begins the main render pass over the whole image, clearing colour and depth.
    void beginRenderPass(const SwapchainFrame& frame, const glm::vec4& clearColor) const;
    /// Ends the command buffer (the caller ended the render pass), submits and presents. With
    /// `capture`, also copies the image back and waits for it (screenshots; slow).
    Result<void> endFrame(const SwapchainFrame& frame, ImageRgba8* capture = nullptr);
    /// Rebuilds for the surface's current size (called automatically; call on explicit resize).
    Result<void> recreate();

private:
    SwapchainTarget(Context& ctx, const SurfaceSource& source) : ctx_(&ctx), source_(&source) {}
    Result<void> createSwapchain();
    void destroySwapchainResources();

    Context* ctx_;
    const SurfaceSource* source_;
    SwapchainOptions options_;
    VkSurfaceFormatKHR format_{};
    VkPresentModeKHR presentMode_ = VK_PRESENT_MODE_FIFO_KHR;
    VkSampleCountFlagBits samples_ = VK_SAMPLE_COUNT_1_BIT;
    VkRenderPass renderPass_ = VK_NULL_HANDLE;
    VkSwapchainKHR swapchain_ = VK_NULL_HANDLE;
    VkExtent2D extent_{};
    VkExtent2D requestedExtent_{}; // the window's size when last built (may differ from extent_)
    std::uint32_t minImageCount_ = 2;
    bool canCapture_ = false;
    bool needsRecreate_ = false;
    std::vector<VkImage> images_;
    std::vector<VkImageView> views_;
    std::vector<VkFramebuffer> framebuffers_;
    std::vector<VkSemaphore> renderFinished_; // per swapchain image
    detail::Image msaaColor_;
    detail::Image depth_;

    struct FrameSlot {
        VkCommandPool pool = VK_NULL_HANDLE;
        VkCommandBuffer cmd = VK_NULL_HANDLE;
        VkFence fence = VK_NULL_HANDLE;
        VkSemaphore imageAvailable = VK_NULL_HANDLE;
        std::uint64_t serial = 0;
    };
    std::array<FrameSlot, kFramesInFlight> frames_{};
    std::uint32_t frameCursor_ = 0;
    detail::Buffer captureBuffer_;
};

} // namespace precis::render
