#include "gui/GlfwWindow.h"

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>

#include <cstdio>

namespace precis::gui {

namespace {
void onGlfwError(int code, const char* description) {
    std::fprintf(stderr, "precis: glfw error %d: %s\n", code, description ? description : "");
}
} // namespace

Result<std::unique_ptr<GlfwSession>> GlfwSession::create() {
    glfwSetErrorCallback(onGlfwError);
    if (!glfwInit())
        return fail(ErrorCode::DeviceError,
                    "cannot open a window: no display (set DISPLAY, or use `precis render` for "
                    "headless images)");
    if (!glfwVulkanSupported()) {
        glfwTerminate();
        return fail(ErrorCode::DeviceError,
                    "the window system has no Vulkan support; install mesa-vulkan-drivers or your "
                    "GPU's Vulkan driver");
    }
    return std::unique_ptr<GlfwSession>(new GlfwSession());
}

GlfwSession::~GlfwSession() { glfwTerminate(); }

std::vector<std::string> GlfwSession::requiredInstanceExtensions() const {
    std::uint32_t count = 0;
    const char** names = glfwGetRequiredInstanceExtensions(&count);
    std::vector<std::string> out;
    for (std::uint32_t i = 0; i < count; ++i) out.emplace_back(names[i]);
    return out;
}

Result<std::unique_ptr<GlfwWindow>> GlfwWindow::create(VkInstance instance, int width, int height,
                                                       const std::string& title) {
    std::unique_ptr<GlfwWindow> w(new GlfwWindow());
    w->instance_ = instance;
    glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
    glfwWindowHint(GLFW_RESIZABLE, GLFW_TRUE);
    w->window_ = glfwCreateWindow(width, height, title.c_str(), nullptr, nullptr);
    if (!w->window_) return fail(ErrorCode::DeviceError, "could not create the application window");
    if (VkResult r = glfwCreateWindowSurface(instance, w->window_, nullptr, &w->surface_); r != VK_SUCCESS)
        return fail(ErrorCode::DeviceError, "could not attach Vulkan to the window",
                    "glfwCreateWindowSurface: " + std::to_string(static_cast<int>(r)));
    return w;
}

GlfwWindow::~GlfwWindow() {
    if (surface_) vkDestroySurfaceKHR(instance_, surface_, nullptr);
    if (window_) glfwDestroyWindow(window_);
}

VkExtent2D GlfwWindow::framebufferExtent() const {
    int w = 0, h = 0;
    glfwGetFramebufferSize(window_, &w, &h);
    if (glfwGetWindowAttrib(window_, GLFW_ICONIFIED)) w = h = 0;
    return {static_cast<std::uint32_t>(w > 0 ? w : 0), static_cast<std::uint32_t>(h > 0 ? h : 0)};
}

bool GlfwWindow::shouldClose() const { return glfwWindowShouldClose(window_); }

void GlfwWindow::setTitle(const std::string& title) { glfwSetWindowTitle(window_, title.c_str()); }

} // namespace precis::gui
