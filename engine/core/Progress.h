#pragma once
// Long work reports progress and can be cancelled (DESIGN.md "Long work").
#include <atomic>
#include <functional>
#include <string_view>

namespace precis {

/// Shared between the UI thread (cancel) and a worker (check).
class CancelToken {
public:
    void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
    [[nodiscard]] bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

private:
    std::atomic<bool> cancelled_{false};
};

/// Progress sink. `fraction` in [0,1]; `stage` names the step for the user. Thread-safe as long as
/// the callback is. Pass a default-constructed Progress to ignore progress.
class Progress {
public:
    using Callback = std::function<void(double fraction, std::string_view stage)>;
    Progress() = default;
    explicit Progress(Callback cb, const CancelToken* cancel = nullptr)
        : callback_(std::move(cb)), cancel_(cancel) {}

    void report(double fraction, std::string_view stage) const {
        if (callback_) callback_(fraction, stage);
    }
    [[nodiscard]] bool cancelled() const { return cancel_ && cancel_->cancelled(); }

private:
    Callback callback_;
    const CancelToken* cancel_ = nullptr;
};

} // namespace precis
