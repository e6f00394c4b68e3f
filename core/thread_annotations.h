// Clang's thread-safety annotations (the -Wthread-safety analysis), as LevelDB's
// port/thread_annotations.h spells them, under wangge's macro prefix. They expand to
// nothing for other compilers.
#pragma once

#if defined(__clang__)
#define WANGGE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define WANGGE_THREAD_ANNOTATION(x)
#endif

// A type that is a lock (core/mutex.h's Mutex).
#define WANGGE_CAPABILITY(x) WANGGE_THREAD_ANNOTATION(capability(x))
// A type whose objects hold a lock for their lifetime (MutexLock).
#define WANGGE_SCOPED_CAPABILITY WANGGE_THREAD_ANNOTATION(scoped_lockable)
// The member is read and written only with `x` held.
#define WANGGE_GUARDED_BY(x) WANGGE_THREAD_ANNOTATION(guarded_by(x))
// What the member points to is read and written only with `x` held.
#define WANGGE_PT_GUARDED_BY(x) WANGGE_THREAD_ANNOTATION(pt_guarded_by(x))
// The caller must hold `...` (REQUIRES) or must not (EXCLUDES).
#define WANGGE_REQUIRES(...) WANGGE_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define WANGGE_EXCLUDES(...) WANGGE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// The function takes (ACQUIRE) or lets go of (RELEASE) `...`.
#define WANGGE_ACQUIRE(...) WANGGE_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define WANGGE_RELEASE(...) WANGGE_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
// The function returns the lock `x` (an accessor).
#define WANGGE_RETURN_CAPABILITY(x) WANGGE_THREAD_ANNOTATION(lock_returned(x))
// Leave this function out of the analysis; say why where it is used.
#define WANGGE_NO_THREAD_SAFETY_ANALYSIS WANGGE_THREAD_ANNOTATION(no_thread_safety_analysis)
