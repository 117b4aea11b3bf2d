#pragma once
// Undo/redo for plan edits: every edit records the plan as it was (plans are small: a few
// trajectories), so undo and redo restore exact states, whatever the edit was (drag, typed
// coordinates, template, device change). Bounded depth; the oldest states go first.
#include "model/Plan.h"

#include <cstddef>
#include <deque>
#include <string>

namespace precis::planning {

class PlanHistory {
public:
    explicit PlanHistory(model::Plan initial, std::size_t maxDepth = 200)
        : current_(std::move(initial)), maxDepth_(maxDepth) {}

    [[nodiscard]] const model::Plan& current() const { return current_; }
    /// Applies an edit: `next` becomes current, the previous state is undoable under `label`
    /// ("move entry of L4 left mbrfa"). Clears the redo list.
    void commit(model::Plan next, std::string label);
    [[nodiscard]] bool canUndo() const { return !undo_.empty(); }
    [[nodiscard]] bool canRedo() const { return !redo_.empty(); }
    /// Label of the edit undo() / redo() would revert / repeat (empty when none).
    [[nodiscard]] std::string undoLabel() const;
    [[nodiscard]] std::string redoLabel() const;
    /// Return false when there is nothing to undo / redo.
    bool undo();
    bool redo();
    /// Edits since the last markSaved() (for "unsaved changes" and autosave).
    [[nodiscard]] bool dirty() const { return revision_ != savedRevision_; }
    void markSaved() { savedRevision_ = revision_; }

private:
    struct Entry {
        model::Plan plan;
        std::string label;
        std::size_t revision;
    };
    model::Plan current_;
    std::deque<Entry> undo_, redo_;
    std::size_t maxDepth_;
    std::size_t revision_ = 0, savedRevision_ = 0, nextRevision_ = 1;
};

} // namespace precis::planning
