#include "engine/base/status.h"

#include <gtest/gtest.h>

namespace sigma {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("x: expected even, got ", x);
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  SIGMA_ASSIGN_OR_RETURN(int half, Half(x));
  SIGMA_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusTest, OkAndErrorsCarryCodeAndMessage) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = NotFoundError("file ", "a.json", " missing");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NOT_FOUND: file a.json missing");
  EXPECT_EQ(s.WithContext("loading").message(), "loading: file a.json missing");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

TEST(StatusTest, AssignOrReturnPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  StatusOr<int> bad = Quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "x: expected even, got 3");
}

TEST(StatusDeathTest, ValueOfErrorAborts) {
  StatusOr<int> bad = Half(3);
  EXPECT_DEATH((void)bad.value(), "StatusOr::value\\(\\) on an error");
}

}  // namespace
}  // namespace sigma
