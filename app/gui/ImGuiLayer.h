#pragma once
// Dear ImGui on the renderer's device: the GLFW platform backend and the Vulkan renderer backend
// (Debian's libimgui-dev sources, built in app/gui), drawing into the swapchain's render pass.
#include "core/Error.h"
#include "render/Context.h"
#include "render/SwapchainTarget.h"

#include <memory>

struct GLFWwindow;

namespace precis::gui {

class ImGuiLayer {
public:
    static Result<std::unique_ptr<ImGuiLayer>> create(render::Context& ctx, GLFWwindow* window,
                                                      const render::SwapchainTarget& swapchain);
    ~ImGuiLayer();
    ImGuiLayer(const ImGuiLayer&) = delete;
    ImGuiLayer& operator=(const ImGuiLayer&) = delete;

    void newFrame(const render::SwapchainTarget& swapchain);
    /// Records the finished ImGui frame (ImGui::Render() done) into the current render pass.
    void record(VkCommandBuffer cmd);

private:
    explicit ImGuiLayer(render::Context& ctx) : ctx_(&ctx) {}
    render::Context* ctx_;
    VkDescriptorPool pool_ = VK_NULL_HANDLE;
    std::uint32_t minImageCount_ = 0;
    bool contextCreated_ = false, glfwInit_ = false, vulkanInit_ = false;
};

} // namespace precis::gui
