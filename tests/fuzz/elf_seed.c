/* The seed ELF files of tests/fuzz/corpus/elf (made once, checked in):
 *   gcc -shared -nostdlib -O1 -fPIC -fasynchronous-unwind-tables -Wl,--build-id \
 *       -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code -o wrappers.so elf_seed.c
 *   (again with -s and without the unwind tables: wrappers-stripped.so; its first 3000
 *   bytes: wrappers-truncated). libc-like wrappers with syscall instructions, unwind
 *   information and a build-id, and names the jemalloc and glibc readers look for. */
long mmap(long a, long b)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(9), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}
long munmap(long a, long b)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(11), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}
long madvise(long a, long b)
{
	long r;
	__asm__ volatile("push %%rbx; syscall; pop %%rbx"
			 : "=a"(r)
			 : "a"(28), "D"(a), "S"(b)
			 : "rcx", "r11", "memory");
	return r;
}
long sbrk(long a)
{
	return mmap(a, 0);
}
void *malloc(unsigned long n)
{
	return (void *)mmap(0, (long)n);
}
void free(void *p)
{
	munmap((long)p, 0);
}
int je_malloc_default;
