#include "planning/PlanHistory.h"

namespace precis::planning {

void PlanHistory::commit(model::Plan next, std::string label) {
    undo_.push_back({std::move(current_), std::move(label), revision_});
    if (undo_.size() > maxDepth_) undo_.pop_front();
    redo_.clear();
    current_ = std::move(next);
    revision_ = nextRevision_++;
}

std::string PlanHistory::undoLabel() const { return undo_.empty() ? "" : undo_.back().label; }
std::string PlanHistory::redoLabel() const { return redo_.empty() ? "" : redo_.back().label; }

bool PlanHistory::undo() {
    if (undo_.empty()) return false;
    Entry e = std::move(undo_.back());
    undo_.pop_back();
    redo_.push_back({std::move(current_), e.label, revision_});
    current_ = std::move(e.plan);
    revision_ = e.revision;
    return true;
}

bool PlanHistory::redo() {
    if (redo_.empty()) return false;
    Entry e = std::move(redo_.back());
    redo_.pop_back();
    undo_.push_back({std::move(current_), e.label, revision_});
    current_ = std::move(e.plan);
    revision_ = e.revision;
    return true;
}

} // namespace precis::planning
