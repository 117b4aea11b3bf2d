#include "planning/PlanHistory.h"

#include <gtest/gtest.h>

namespace precis::planning {
namespace {

model::Plan withEntryX(double x) {
    model::Plan p;
    model::Trajectory t;
    t.name = "a";
    t.entryLps = {x, 0, 0};
    p.trajectories.push_back(t);
    return p;
}

TEST(PlanHistory, UndoRedoRestoreExactStatesAndTrackSaving) {
    PlanHistory h(withEntryX(0));
    EXPECT_FALSE(h.canUndo());
    EXPECT_FALSE(h.dirty());
    h.commit(withEntryX(1), "move entry");
    h.commit(withEntryX(2), "move entry again");
    EXPECT_TRUE(h.dirty());
    EXPECT_EQ(h.undoLabel(), "move entry again");
    ASSERT_TRUE(h.undo());
    EXPECT_EQ(h.current().trajectories[0].entryLps.x, 1);
    ASSERT_TRUE(h.undo());
    EXPECT_EQ(h.current().trajectories[0].entryLps.x, 0);
    EXPECT_FALSE(h.dirty()); // back at the state it started (and was saved) in
    EXPECT_FALSE(h.undo());
    ASSERT_TRUE(h.redo());
    EXPECT_EQ(h.current().trajectories[0].entryLps.x, 1);
    h.markSaved();
    EXPECT_FALSE(h.dirty());
    h.commit(withEntryX(5), "type coordinates");
    EXPECT_FALSE(h.canRedo()); // a new edit drops the redo list
    EXPECT_TRUE(h.dirty());
    ASSERT_TRUE(h.undo());
    EXPECT_FALSE(h.dirty());
}

TEST(PlanHistory, DepthIsBounded) {
    PlanHistory h(withEntryX(0), 3);
    for (int i = 1; i <= 10; ++i) h.commit(withEntryX(i), "edit");
    int undone = 0;
    while (h.undo()) ++undone;
    EXPECT_EQ(undone, 3);
    EXPECT_EQ(h.current().trajectories[0].entryLps.x, 7);
}

} // namespace
} // namespace precis::planning
