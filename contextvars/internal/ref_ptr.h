// An intrusive, atomically reference-counted pointer. Used instead of
// std::shared_ptr because the per-thread current-context slot keeps a raw
// owning pointer in a trivially destructible thread_local (see
// thread_slot.h), which needs release()/Adopt(), and because the keys and
// values of a context's map are then one pointer wide.

#ifndef PERSIST_CONTEXTVARS_INTERNAL_REF_PTR_H_
#define PERSIST_CONTEXTVARS_INTERNAL_REF_PTR_H_

#include <atomic>
#include <cstdint>
#include <utility>

namespace contextvars {
namespace internal {

// Base of every reference-counted object. The count starts at zero; RefPtr
// takes the first reference.
class RefCounted {
 public:
  RefCounted() = default;
  RefCounted(const RefCounted&) = delete;
  RefCounted& operator=(const RefCounted&) = delete;

  void AddRef() const noexcept {
    ref_count_.fetch_add(1, std::memory_order_relaxed);
  }
  // Returns true when the caller dropped the last reference.
  bool DropRef() const noexcept {
    return ref_count_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }

 protected:
  ~RefCounted() = default;

 private:
  mutable std::atomic<uint32_t> ref_count_{0};
};

template <class T>
class RefPtr {
 public:
  RefPtr() noexcept = default;
  // Takes a new reference to `ptr` (which may be freshly allocated).
  explicit RefPtr(T* ptr) noexcept : ptr_(ptr) {
    if (ptr_ != nullptr) ptr_->AddRef();
  }
  RefPtr(const RefPtr& other) noexcept : RefPtr(other.ptr_) {}
  RefPtr(RefPtr&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
  template <class U>
  RefPtr(RefPtr<U> other) noexcept : ptr_(other.release()) {}  // NOLINT
  RefPtr& operator=(RefPtr other) noexcept {
    std::swap(ptr_, other.ptr_);
    return *this;
  }
  ~RefPtr() { Drop(ptr_); }

  // Wraps a pointer whose reference the caller already owns.
  static RefPtr Adopt(T* ptr) noexcept {
    RefPtr result;
    result.ptr_ = ptr;
    return result;
  }
  // Gives up ownership of the reference without dropping it.
  T* release() noexcept { return std::exchange(ptr_, nullptr); }

  T* get() const noexcept { return ptr_; }
  T& operator*() const noexcept { return *ptr_; }
  T* operator->() const noexcept { return ptr_; }
  explicit operator bool() const noexcept { return ptr_ != nullptr; }

  friend bool operator==(const RefPtr& a, const RefPtr& b) noexcept {
    return a.ptr_ == b.ptr_;
  }
  friend bool operator!=(const RefPtr& a, const RefPtr& b) noexcept {
    return a.ptr_ != b.ptr_;
  }

  // Drops one reference to `ptr`, deleting it when it was the last.
  static void Drop(T* ptr) noexcept {
    if (ptr != nullptr && ptr->DropRef()) delete ptr;
  }

 private:
  T* ptr_ = nullptr;
};

}  // namespace internal
}  // namespace contextvars

#endif  // PERSIST_CONTEXTVARS_INTERNAL_REF_PTR_H_
