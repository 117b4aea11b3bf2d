#pragma once
// The GLFW window and its Vulkan surface, handed to the renderer as a render::SurfaceSource.
#include "core/Error.h"
#include "render/SwapchainTarget.h"

#include <memory>
#include <string>
#include <vector>

struct GLFWwindow;

namespace precis::gui {

/// glfwInit/glfwTerminate for the process; DeviceError when no display or no Vulkan loader.
class GlfwSession {
public:
    static Result<std::unique_ptr<GlfwSession>> create();
    ~GlfwSession();
    GlfwSession(const GlfwSession&) = delete;
    GlfwSession& operator=(const GlfwSession&) = delete;
    /// Instance extensions the window system needs (VK_KHR_surface + platform).
    [[nodiscard]] std::vector<std::string> requiredInstanceExtensions() const;

private:
    GlfwSession() = default;
};

class GlfwWindow final : public render::SurfaceSource {
public:
    static Result<std::unique_ptr<GlfwWindow>> create(VkInstance instance, int width, int height,
                                                      const std::string& title);
    ~GlfwWindow() override;
    GlfwWindow(const GlfwWindow&) = delete;
    GlfwWindow& operator=(const GlfwWindow&) = delete;

    [[nodiscard]] VkSurfaceKHR surface() const override { return surface_; }
    [[nodiscard]] VkExtent2D framebufferExtent() const override;
    [[nodiscard]] GLFWwindow* handle() const { return window_; }
    [[nodiscard]] bool shouldClose() const;
    void setTitle(const std::string& title);

private:
    GlfwWindow() = default;
    VkInstance instance_ = VK_NULL_HANDLE;
    GLFWwindow* window_ = nullptr;
    VkSurfaceKHR surface_ = VK_NULL_HANDLE;
};

} // namespace precis::gui
