#include "engine/base/temp_files.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <mutex>

namespace sigma {
namespace {

constexpr size_t kMaxPathBytes = 4096;

struct Slot {
  std::atomic<bool> in_use{false};
  char path[kMaxPathBytes] = {};
};

Slot g_slots[kMaxTempFiles];
std::mutex g_claim;  // claims a free slot; the handler never takes it

extern "C" void RemoveAndRaise(int signal) {
  for (Slot& slot : g_slots) {
    if (slot.in_use.load(std::memory_order_acquire)) ::unlink(slot.path);
  }
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

}  // namespace

TempFileGuard::TempFileGuard(const std::string& path) {
  if (path.size() >= kMaxPathBytes) return;
  std::lock_guard<std::mutex> lock(g_claim);
  for (int i = 0; i < kMaxTempFiles; ++i) {
    Slot& slot = g_slots[i];
    if (slot.in_use.load(std::memory_order_relaxed)) continue;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.in_use.store(true, std::memory_order_release);  // the path is complete before it is seen
    slot_ = i;
    return;
  }
}

TempFileGuard::~TempFileGuard() {
  if (slot_ >= 0) g_slots[slot_].in_use.store(false, std::memory_order_release);
}

void RemoveTempFilesOnSignals() {
  std::signal(SIGINT, RemoveAndRaise);
  std::signal(SIGTERM, RemoveAndRaise);
}

}  // namespace sigma
