// Command-line building, request validation and the preflight message.
#include "harness/sandbox/bwrap_args.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>

#include "harness/sandbox/bwrap_sandbox.h"

namespace sigma::sandbox {
namespace {

bool Contains(const std::vector<std::string>& args, const std::vector<std::string>& seq) {
  return std::search(args.begin(), args.end(), seq.begin(), seq.end()) != args.end();
}

tasks::ExecRequest Request() {
  tasks::ExecRequest request;
  request.argv = {"echo", "hi"};
  return request;
}

TEST(BwrapArgsTest, DefaultProfileIsolatesEverything) {
  tasks::ExecRequest request = Request();
  request.files = {{"a/b.txt", "x"}};
  request.env = {{"FOO", "bar"}};
  BwrapArgsInput input;
  input.request = &request;
  input.info_fd = 9;
  input.file_fds = {7};
  std::vector<std::string> args = BuildBwrapArgs(input);
  for (const char* flag : {"--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
                           "--disable-userns"}) {
    EXPECT_TRUE(Contains(args, {flag})) << flag;
  }
  EXPECT_TRUE(Contains(args, {"--cap-drop", "ALL"}));
  EXPECT_TRUE(Contains(args, {"--uid", "65534", "--gid", "65534"}));
  EXPECT_TRUE(Contains(args, {"--ro-bind", "/usr", "/usr"}));
  EXPECT_TRUE(Contains(args, {"--size", std::to_string(64 << 20), "--perms", "0755", "--tmpfs",
                              "/box"}));
  EXPECT_TRUE(Contains(args, {"--size", std::to_string(64 << 20), "--tmpfs", "/dev/shm"}));
  EXPECT_TRUE(Contains(args, {"--dir", "/box/a"}));
  EXPECT_TRUE(Contains(args, {"--perms", "0644", "--file", "7", "/box/a/b.txt"}));
  EXPECT_TRUE(Contains(args, {"--info-fd", "9"}));
  EXPECT_TRUE(Contains(args, {"--setenv", "FOO", "bar"}));
  EXPECT_TRUE(Contains(args, {"--", "echo", "hi"}));
  EXPECT_FALSE(Contains(args, {"--share-net"}));
  EXPECT_FALSE(Contains(args, {"--ro-bind", "/", "/"}));
  EXPECT_FALSE(Contains(args, {"--ro-bind-try", "/sys", "/sys"}));
  EXPECT_FALSE(Contains(args, {"--ro-bind-try", "/etc/shadow", "/etc/shadow"}));
}

TEST(BwrapArgsTest, HostToolsProfileAddsToolsAndDevices) {
  tasks::ExecRequest request = Request();
  request.profile = "host-tools";
  HostTools tools;
  tools.binaries = {"/opt/rocm/bin/rocm-smi", "/usr/bin/nvidia-smi"};
  tools.devices = {"/dev/nvidiactl"};
  BwrapArgsInput input;
  input.request = &request;
  input.host_tools = &tools;
  std::vector<std::string> args = BuildBwrapArgs(input);
  EXPECT_TRUE(Contains(args, {"--ro-bind", "/opt/rocm/bin/rocm-smi", "/opt/rocm/bin/rocm-smi"}));
  EXPECT_FALSE(Contains(args, {"--ro-bind", "/usr/bin/nvidia-smi", "/usr/bin/nvidia-smi"}));
  EXPECT_TRUE(Contains(args, {"--dev-bind-try", "/dev/nvidiactl", "/dev/nvidiactl"}));
  EXPECT_TRUE(Contains(args, {"--ro-bind-try", "/sys", "/sys"}));
  EXPECT_TRUE(Contains(args, {"--setenv", "PATH", std::string(kDefaultPath) + ":/opt/rocm/bin"}));
  EXPECT_TRUE(Contains(args, {"--unshare-all"}));
  EXPECT_FALSE(Contains(args, {"--share-net"}));
}

TEST(BwrapArgsTest, DiscoverHostToolsReportsMissing) {
  HostTools tools = DiscoverHostTools({"sh", "no-such-tool-xyz"}, "/usr/bin:/bin");
  ASSERT_FALSE(tools.binaries.empty());
  EXPECT_EQ(tools.missing, std::vector<std::string>{"no-such-tool-xyz"});
}

TEST(BwrapArgsTest, ValidateRequestRejectsHostileInputs) {
  EXPECT_TRUE(ValidateRequest(Request()).ok());
  auto rejects = [](auto mutate) {
    tasks::ExecRequest request = Request();
    mutate(request);
    return ValidateRequest(request).code() == StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(rejects([](auto& r) { r.argv.clear(); }));
  EXPECT_TRUE(rejects([](auto& r) { r.argv.push_back(std::string("a\0b", 3)); }));
  EXPECT_TRUE(rejects([](auto& r) { r.files["../escape"] = "x"; }));
  EXPECT_TRUE(rejects([](auto& r) { r.files["/etc/passwd"] = "x"; }));
  EXPECT_TRUE(rejects([](auto& r) { r.files["a//b"] = "x"; }));
  EXPECT_TRUE(rejects([](auto& r) { r.env["A=B"] = "x"; }));
  EXPECT_TRUE(rejects([](auto& r) { r.env["1A"] = "x"; }));
  EXPECT_TRUE(rejects([](auto& r) { r.limits.wall_ms = 0; }));
  EXPECT_TRUE(rejects([](auto& r) { r.profile = "host"; }));
  // Limits so large that their conversions would overflow (a 9e18 ms wall limit fired at once).
  EXPECT_TRUE(rejects([](auto& r) { r.limits.wall_ms = int64_t{9'000'000'000'000'000'000}; }));
  EXPECT_TRUE(rejects([](auto& r) { r.limits.cpu_ms = int64_t{1} << 40; }));
  EXPECT_TRUE(rejects([](auto& r) { r.limits.memory_mb = int64_t{1} << 44; }));
  EXPECT_TRUE(rejects([](auto& r) { r.limits.output_kb = int64_t{1} << 54; }));
  EXPECT_TRUE(rejects([](auto& r) { r.limits.file_size_mb = int64_t{1} << 45; }));
  tasks::ExecRequest request = Request();
  request.limits.wall_ms = int64_t{7} * 24 * 3600 * 1000;  // a week: the largest taken
  EXPECT_TRUE(ValidateRequest(request).ok());
  request.limits.wall_ms += 1;
  EXPECT_EQ(ValidateRequest(request).message(),
            "exec request: limits: wall_ms 604800001 outside 1..604800000");
}

TEST(PreflightTest, MissingBwrapIsUnavailableWithOneClearMessage) {
  SandboxOptions options;
  options.bwrap_path = "/nonexistent/bwrap";
  auto sandbox = BwrapSandbox::Create(options);
  ASSERT_FALSE(sandbox.ok());
  EXPECT_EQ(sandbox.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(sandbox.status().message().find("bwrap (bubblewrap) not found"), std::string::npos)
      << sandbox.status().message();
  EXPECT_NE(sandbox.status().message().find("'bubblewrap'"), std::string::npos);
}

// A stand-in bwrap that fails the way a kernel without usable user namespaces makes it fail.
TEST(PreflightTest, NoUserNamespacesIsUnavailableWithCause) {
  char dir[] = "/tmp/sigma-preflight-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  chmod(dir, 0755);
  const std::string fake = std::string(dir) + "/bwrap";
  {
    std::ofstream out(fake);
    out << "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because "
           "the kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n";
  }
  chmod(fake.c_str(), 0755);
  SandboxOptions options;
  options.bwrap_path = fake;
  auto sandbox = BwrapSandbox::Create(options);
  unlink(fake.c_str());
  rmdir(dir);
  ASSERT_FALSE(sandbox.ok());
  EXPECT_EQ(sandbox.status().code(), StatusCode::kUnavailable);
  const std::string message = sandbox.status().message();  // status() is a temporary
  EXPECT_NE(message.find("cannot start a sandbox"), std::string::npos) << message;
  EXPECT_NE(message.find("user namespaces"), std::string::npos) << message;
}

TEST(PreflightTest, ExplainPreflightFailureNamesTheCause) {
  EXPECT_EQ(ExplainPreflightFailure("/usr/bin/bwrap", "bwrap: setting up uid map: Permission "
                                    "denied\nmore\n", 1),
            "sandbox unavailable: /usr/bin/bwrap cannot start a sandbox (exit 1: bwrap: setting "
            "up uid map: Permission denied) (user namespaces look disabled: check sysctl "
            "user.max_user_namespaces and kernel.unprivileged_userns_clone, or the container's "
            "seccomp/AppArmor policy)");
}

TEST(PreflightTest, WorksOnThisMachine) {
  auto sandbox = BwrapSandbox::Create();
  ASSERT_TRUE(sandbox.ok()) << sandbox.status().ToString();
  EXPECT_NE((*sandbox)->Describe().find("bwrap"), std::string::npos);
}

}  // namespace
}  // namespace sigma::sandbox
