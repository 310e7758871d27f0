// The hostile-program catalogue (reference/reliability.md, "Tests a trusted harness would run" and
// §1.5): each case asserts the verdict, that no process carrying the run's marker survives, and
// that the host paths no program may touch are unchanged.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/harness/sandbox/sandbox_test_util.h"

namespace sigma::sandbox {
namespace {

using tasks::ExecRequest;
using tasks::ExecResult;
using tasks::Verdict;
using testing::Bash;
using testing::ExpectNothingSurvived;
using testing::HostSnapshot;
using testing::Shared;

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox_ = Shared();
    ASSERT_NE(sandbox_, nullptr);
    host_before_ = HostSnapshot();
  }
  void TearDown() override {
    if (!marker_.empty()) ExpectNothingSurvived(marker_, host_before_);
  }

  // Runs bash `script` with `limits` adjusted by `adjust`.
  template <typename Adjust>
  ExecResult RunBash(const std::string& script, Adjust adjust) {
    ExecRequest request = Bash(script, &marker_);
    adjust(request);
    StatusOr<ExecResult> result = sandbox_->Run(request);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : ExecResult{};
  }
  ExecResult RunBash(const std::string& script) {
    return RunBash(script, [](ExecRequest&) {});
  }

  BwrapSandbox* sandbox_ = nullptr;
  std::string host_before_;
  std::string marker_;
};

TEST_F(HostileTest, InfiniteLoopHitsCpuLimit) {
  ExecResult r = RunBash("while :; do :; done", [](ExecRequest& q) {
    q.limits.cpu_ms = 1000;
    q.limits.wall_ms = 5000;
  });
  EXPECT_EQ(r.verdict, Verdict::kTimeout) << r.detail;
  EXPECT_GE(r.cpu_ms, 950);
  EXPECT_LT(r.wall_ms, 2500);
}

TEST_F(HostileTest, ParallelLoopsReachCpuLimitFasterThanWall) {
  ExecResult r = RunBash("for i in 1 2; do (while :; do :; done) & done; wait", [](ExecRequest& q) {
    q.limits.cpu_ms = 1000;
    q.limits.wall_ms = 5000;
  });
  EXPECT_EQ(r.verdict, Verdict::kTimeout) << r.detail;
  EXPECT_LT(r.wall_ms, 2500);
}

TEST_F(HostileTest, SleepHitsWallLimit) {
  ExecResult r = RunBash("sleep 1000", [](ExecRequest& q) { q.limits.wall_ms = 1000; });
  EXPECT_EQ(r.verdict, Verdict::kTimeout);
  EXPECT_GE(r.wall_ms, 990);
  EXPECT_LT(r.wall_ms, 1800);
  EXPECT_NE(r.detail.find("wall"), std::string::npos);
}

TEST_F(HostileTest, ForkBombIsContained) {
  ExecResult r = RunBash("b(){ b|b & }; b; sleep 60", [](ExecRequest& q) {
    q.limits.pids = 32;
    q.limits.wall_ms = 2000;
  });
  EXPECT_TRUE(r.verdict == Verdict::kTimeout || r.verdict == Verdict::kRuntimeError)
      << tasks::VerdictName(r.verdict) << " " << r.detail;
  EXPECT_LT(r.wall_ms, 4000);
}

TEST_F(HostileTest, ThreadBombIsCappedByPids) {
  ExecResult r = RunBash(
      "python3 -c 'import threading,time\n"
      "ts=[threading.Thread(target=time.sleep,args=(30,),daemon=True) for _ in range(10000)]\n"
      "[t.start() for t in ts]'",
      [](ExecRequest& q) {
        q.limits.pids = 32;
        q.limits.wall_ms = 3000;
      });
  EXPECT_EQ(r.verdict, Verdict::kRuntimeError) << r.detail << r.stderr_data;
  EXPECT_NE(r.stderr_data.find("can't start new thread"), std::string::npos) << r.stderr_data;
}

TEST_F(HostileTest, DaemonsAfterCleanExitAreKilledAndDoNotDelay) {
  ExecResult r = RunBash(
      "setsid sh -c 'sleep 999' & (sh -c 'sleep 998 &' &); nohup sleep 997 >/dev/null 2>&1 & "
      "disown; echo done; exit 0");
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.detail;
  EXPECT_EQ(r.stdout_data, "done\n");
  EXPECT_LT(r.wall_ms, 1500);
}

TEST_F(HostileTest, BackgroundJobHoldingStdoutDoesNotHang) {
  ExecResult r = RunBash("(sleep 30; echo late) & echo early");
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_EQ(r.stdout_data, "early\n");
  EXPECT_LT(r.wall_ms, 1500);
}

TEST_F(HostileTest, StdoutFloodIsCappedExactly) {
  ExecResult r = RunBash("yes", [](ExecRequest& q) { q.limits.output_kb = 64; });
  EXPECT_EQ(r.verdict, Verdict::kOutputLimit);
  EXPECT_EQ(r.stdout_data.size(), 64u << 10);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_FALSE(r.stderr_truncated);
  EXPECT_LT(r.wall_ms, 2000);
}

TEST_F(HostileTest, StderrFloodIsCappedExactly) {
  ExecResult r = RunBash("cat /dev/zero >&2", [](ExecRequest& q) { q.limits.output_kb = 100; });
  EXPECT_EQ(r.verdict, Verdict::kOutputLimit);
  EXPECT_EQ(r.stderr_data.size(), 100u << 10);
  EXPECT_TRUE(r.stderr_truncated);
}

TEST_F(HostileTest, StderrBurstWhileStdoutIdleDoesNotDeadlock) {
  ExecResult r = RunBash("head -c 200000 /dev/zero >&2; echo done");
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.detail;
  EXPECT_EQ(r.stdout_data, "done\n");
  EXPECT_EQ(r.stderr_data.size(), 200000u);
}

TEST_F(HostileTest, ClosedStdoutThenLoopIsATimeout) {
  ExecResult r = RunBash("exec >&- 2>&-; while :; do :; done", [](ExecRequest& q) {
    q.limits.cpu_ms = 800;
  });
  EXPECT_EQ(r.verdict, Verdict::kTimeout);
}

TEST_F(HostileTest, HugeFileHitsFileSizeLimit) {
  ExecResult r = RunBash("dd if=/dev/zero of=/box/x bs=1M count=64", [](ExecRequest& q) {
    q.limits.file_size_mb = 4;
  });
  EXPECT_EQ(r.verdict, Verdict::kOutputLimit) << r.detail;
  EXPECT_EQ(r.term_signal, SIGXFSZ);
}

TEST_F(HostileTest, FillingTheWorkDirHitsTmpfsSize) {
  ExecResult r = RunBash("dd if=/dev/zero of=/tmp/x bs=1M count=64; df -k /box", [](ExecRequest& q) {
    q.limits.tmpfs_mb = 8;
    q.limits.file_size_mb = 128;
  });
  EXPECT_NE(r.stderr_data.find("No space left on device"), std::string::npos) << r.stderr_data;
}

TEST_F(HostileTest, FillingDevShmHitsItsSize) {
  ExecResult r = RunBash("dd if=/dev/zero of=/dev/shm/x bs=1M count=64", [](ExecRequest& q) {
    q.limits.tmpfs_mb = 8;
    q.limits.file_size_mb = 128;
  });
  EXPECT_EQ(r.verdict, Verdict::kRuntimeError);
  EXPECT_NE(r.stderr_data.find("No space left on device"), std::string::npos) << r.stderr_data;
}

TEST_F(HostileTest, MemoryHogIsAMemoryVerdict) {
  ExecResult r = RunBash("python3 -c 'b = bytearray(1 << 30); print(len(b))'", [](ExecRequest& q) {
    q.limits.memory_mb = 128;
  });
  EXPECT_EQ(r.verdict, Verdict::kMemory) << r.detail << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "");
}

TEST_F(HostileTest, ManyFdsHitEmfile) {
  ExecResult r = RunBash(
      "python3 -c 'import os\nfs=[os.open(\"/dev/null\", os.O_RDONLY) for _ in range(100000)]'");
  EXPECT_EQ(r.verdict, Verdict::kRuntimeError);
  EXPECT_NE(r.stderr_data.find("Too many open files"), std::string::npos) << r.stderr_data;
}

TEST_F(HostileTest, NoNetwork) {
  ExecResult r = RunBash(
      "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; "
      "timeout 2 bash -c 'echo > /dev/tcp/1.1.1.1/80' && echo CONNECTED; "
      "timeout 2 getent hosts example.com && echo RESOLVED; echo end");
  EXPECT_EQ(r.stdout_data, "lo\nend\n") << r.stderr_data;
  EXPECT_NE(r.stderr_data.find("unreachable"), std::string::npos) << r.stderr_data;
  EXPECT_LT(r.wall_ms, 2000);
}

TEST_F(HostileTest, WritesOutsideTheWorkDirFail) {
  ExecResult r = RunBash(
      "for p in /etc/x /usr/x /x /root/x /srv/x /home/x /var/tmp/x; do "
      "  touch $p 2>/dev/null && echo WROTE $p; done; "
      "rm -rf --no-preserve-root / 2>/dev/null; echo ok > /box/mine; cat /box/mine; "
      "ls /usr/bin/true",
      [](ExecRequest& q) {  // rm -rf / walks the whole read-only root: seconds on a busy VM
        q.limits.wall_ms = 60000;
        q.limits.cpu_ms = 60000;
      });
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.detail;
  EXPECT_EQ(r.stdout_data, "ok\n/usr/bin/true\n") << r.stderr_data;
}

TEST_F(HostileTest, HostSecretsAreInvisible) {
  setenv("SIGMA_HOST_SECRET", "hunter2-secret", 1);
  ExecResult r = RunBash(
      "cat /etc/shadow /root/.ssh/* 2>&1; cat /proc/1/environ /proc/*/environ 2>/dev/null; "
      "echo; env | cut -d= -f1 | sort | tr '\\n' ' '");
  unsetenv("SIGMA_HOST_SECRET");
  EXPECT_EQ(r.stdout_data.find("hunter2-secret"), std::string::npos);
  EXPECT_EQ(r.stdout_data.find("root:"), std::string::npos);
  EXPECT_NE(r.stdout_data.find("HOME LANG PATH PWD SHLVL SIGMA_SANDBOX_TEST_MARKER TMPDIR _ "),
            std::string::npos)
      << r.stdout_data;
}

TEST_F(HostileTest, CannotSignalTheHarness) {
  ExecResult r = RunBash("kill -9 -1; kill -9 " + std::to_string(getpid()) +
                         " 2>&1 | grep -c 'No such process'; ps -e | wc -l");
  // We are still here; the harness pid is not even visible inside.
  EXPECT_NE(r.stdout_data.find("1\n"), std::string::npos) << r.stdout_data << r.stderr_data;
}

TEST_F(HostileTest, PrivilegedOperationsFail) {
  ExecResult r = RunBash(
      "mount -t tmpfs x /box 2>/dev/null && echo MOUNTED; "
      "unshare -U true 2>/dev/null && echo USERNS; "
      "(echo b > /proc/sysrq-trigger) 2>/dev/null && echo SYSRQ; "
      "chroot / true 2>/dev/null && echo CHROOT; "
      "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status | tr -s '\\t ' ' '; echo end");
  EXPECT_EQ(r.stdout_data, "CapEff: 0000000000000000\nNoNewPrivs: 1\nend\n");
}

TEST_F(HostileTest, NoControllingTerminal) {
  ExecResult r = RunBash(
      "(exec 3</dev/tty) 2>/dev/null && echo TTY; "
      "python3 -c 'import fcntl,termios\nfor fd in (0,1,2):\n"
      "  try: fcntl.ioctl(fd, termios.TIOCSTI, b\"x\"); print(\"INJECTED\")\n"
      "  except OSError as e: pass'; echo end");
  EXPECT_EQ(r.stdout_data, "end\n") << r.stderr_data;
}

TEST_F(HostileTest, IgnoredSigtermStillKilled) {
  ExecResult r = RunBash("trap '' TERM INT HUP; sleep 100", [](ExecRequest& q) {
    q.limits.wall_ms = 800;
  });
  EXPECT_EQ(r.verdict, Verdict::kTimeout);
}

TEST_F(HostileTest, StoppedProcessStillKilled) {
  ExecResult r = RunBash("sleep 100 & kill -STOP $$", [](ExecRequest& q) {
    q.limits.wall_ms = 800;
  });
  EXPECT_EQ(r.verdict, Verdict::kTimeout);
  EXPECT_LT(r.wall_ms, 1800);
}

TEST_F(HostileTest, HostileOutputBytesAreKeptExactly) {
  ExecResult r = RunBash("printf 'a\\0b\\377\\033]0;x\\007</td><script>'");
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_EQ(r.stdout_data, std::string("a\0b\xff\x1b]0;x\x07</td><script>", 23));
}

TEST_F(HostileTest, VerdictFidelity) {
  ExecResult exit9 = RunBash("exit 9");
  EXPECT_EQ(exit9.verdict, Verdict::kRuntimeError);
  EXPECT_EQ(exit9.exit_code, 9);
  EXPECT_EQ(exit9.term_signal, 0);
  ExecResult killed = RunBash("kill -9 $$");
  EXPECT_EQ(killed.verdict, Verdict::kRuntimeError);
  EXPECT_EQ(killed.term_signal, SIGKILL);
  ExecResult segv = RunBash("kill -SEGV $$");
  EXPECT_EQ(segv.verdict, Verdict::kRuntimeError);
  EXPECT_EQ(segv.term_signal, SIGSEGV);
  ExecResult missing = RunBash("true", [](ExecRequest& q) { q.argv = {"no-such-program-xyz"}; });
  EXPECT_EQ(missing.verdict, Verdict::kRuntimeError) << missing.stderr_data;
  EXPECT_EQ(missing.exit_code, 127);
}

TEST_F(HostileTest, StdinAndFilesArriveExactly) {
  ExecResult r = RunBash("cat; cat sub/dir/in.txt; ls -l sub/dir/in.txt | cut -c1-10",
                         [](ExecRequest& q) {
                           q.stdin_data = std::string("line1\n\0bin", 10);
                           q.files["sub/dir/in.txt"] = "file-contents\n";
                         });
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, std::string("line1\n\0binfile-contents\n-rw-r--r--\n", 35));
}

TEST_F(HostileTest, StdinFloodIsHarmless) {
  ExecResult ignored = RunBash("sleep 0.1; echo ok", [](ExecRequest& q) {
    q.stdin_data.assign(64 << 20, 'x');
  });
  EXPECT_EQ(ignored.verdict, Verdict::kOk);
  ExecResult counted = RunBash("wc -c", [](ExecRequest& q) { q.stdin_data.assign(64 << 20, 'x'); });
  EXPECT_EQ(counted.stdout_data, std::to_string(64 << 20) + "\n");
}

TEST_F(HostileTest, SymlinkOutOfTheWorkDirStaysInside) {
  ExecResult r = RunBash("ln -s /etc/passwd /box/out.txt; echo pwned > /box/out.txt; echo $?",
                         [](ExecRequest&) {});
  EXPECT_EQ(r.stdout_data, "1\n") << r.stderr_data;  // /etc is read-only; the host file is intact
}

}  // namespace
}  // namespace sigma::sandbox
