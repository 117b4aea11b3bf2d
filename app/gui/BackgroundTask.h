#pragma once
// One piece of long work on a worker thread (DESIGN.md "Long work"): the UI thread polls status()
// each frame, may cancel(), and take()s the result once finished. Destruction cancels and joins.
#include "core/Error.h"
#include "core/Progress.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace precis::gui {

template <class T> class BackgroundTask {
public:
    using Work = std::function<Result<T>(const Progress&)>;

    explicit BackgroundTask(Work work, std::string firstStage = "Starting") {
        status_.stage = std::move(firstStage);
        worker_ = std::thread([this, w = std::move(work)] {
            Progress progress(
                [this](double f, std::string_view stage) {
                    std::lock_guard lock(mutex_);
                    status_.fraction = std::clamp(f, 0.0, 1.0);
                    status_.stage = std::string(stage);
                },
                &cancel_);
            Result<T> r = w(progress);
            std::lock_guard lock(mutex_);
            result_ = std::move(r);
            status_.finished = true;
            status_.fraction = 1.0;
        });
    }
    ~BackgroundTask() {
        cancel_.cancel();
        if (worker_.joinable()) worker_.join();
    }
    BackgroundTask(const BackgroundTask&) = delete;
    BackgroundTask& operator=(const BackgroundTask&) = delete;

    struct Status {
        double fraction = 0;
        std::string stage;
        bool finished = false;
    };
    [[nodiscard]] Status status() const {
        std::lock_guard lock(mutex_);
        return status_;
    }
    /// Once finished: the result, handed over once (later calls return std::nullopt).
    std::optional<Result<T>> take() {
        std::lock_guard lock(mutex_);
        if (!status_.finished || !result_) return std::nullopt;
        auto r = std::move(result_);
        result_.reset();
        return r;
    }
    void cancel() { cancel_.cancel(); }
    [[nodiscard]] bool cancelRequested() const { return cancel_.cancelled(); }

private:
    mutable std::mutex mutex_;
    Status status_;
    std::optional<Result<T>> result_;
    CancelToken cancel_;
    std::thread worker_; // last: started after everything it uses exists
};

} // namespace precis::gui
