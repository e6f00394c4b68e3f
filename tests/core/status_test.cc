#include "core/status.h"

#include <gtest/gtest.h>

namespace wangge {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd", "x");
  return x / 2;
}

Result<int> Quarter(int x) {
  WANGGE_ASSIGN_OR_RETURN(int h, Half(x));
  WANGGE_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusTest, PropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(12), 3);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "x");
  EXPECT_EQ(r.status().ToString(), "invalid_argument: odd (field x)");
}

}  // namespace
}  // namespace wangge
