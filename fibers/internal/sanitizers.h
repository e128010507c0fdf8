// Detects AddressSanitizer and ThreadSanitizer (g++ defines __SANITIZE_*__,
// clang answers __has_feature) and includes their fiber-switch interfaces.
// fiber.cc brackets every stack switch with these annotations; without them
// ASan reports false stack-buffer-overflows after a switch and TSan loses
// track of which stack a thread runs on.

#ifndef PERSIST_FIBERS_INTERNAL_SANITIZERS_H_
#define PERSIST_FIBERS_INTERNAL_SANITIZERS_H_

#if defined(__SANITIZE_ADDRESS__)
#define PERSIST_FIBERS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PERSIST_FIBERS_ASAN 1
#endif
#endif
#ifndef PERSIST_FIBERS_ASAN
#define PERSIST_FIBERS_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define PERSIST_FIBERS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PERSIST_FIBERS_TSAN 1
#endif
#endif
#ifndef PERSIST_FIBERS_TSAN
#define PERSIST_FIBERS_TSAN 0
#endif

#if PERSIST_FIBERS_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if PERSIST_FIBERS_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#endif  // PERSIST_FIBERS_INTERNAL_SANITIZERS_H_
