/* weft — naming function addresses for the trace (the writer thread only).
 *
 * dladdr knows only exported symbols: a static task function, or any function of a
 * program not linked with -rdynamic, comes back as the nearest exported one, or
 * nothing. So dladdr's answer counts only when it names exactly the address; otherwise
 * the ELF symbol table (.symtab, kept unless the program was stripped) of
 * /proc/self/exe is searched, relocated by the program's load bias; failing that the
 * name is the address in hex.
 */
#include "runtime/trace_priv.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    bool loaded;
    void *map;
    size_t size;
    const Elf64_Sym *syms;
    size_t nsyms;
    const char *strtab;
    uintptr_t bias;
} exe;

static int first_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(uintptr_t *)arg = info->dlpi_addr; /* the first object is the program itself */
    return 1;
}

static void exe_load(void)
{
    exe.loaded = true;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof(Elf64_Ehdr)) {
        exe.size = (size_t)st.st_size;
        exe.map = mmap(NULL, exe.size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (exe.map == MAP_FAILED)
            exe.map = NULL;
    }
    close(fd);
    if (!exe.map)
        return;
    const Elf64_Ehdr *eh = exe.map;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > exe.size)
        return;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)((const char *)exe.map + eh->e_shoff);
    for (int pass = 0; pass < 2 && !exe.syms; pass++) {
        uint32_t want = pass == 0 ? SHT_SYMTAB : SHT_DYNSYM;
        for (unsigned i = 0; i < eh->e_shnum; i++) {
            if (sh[i].sh_type != want || sh[i].sh_link >= eh->e_shnum)
                continue;
            const Elf64_Shdr *str = &sh[sh[i].sh_link];
            if (sh[i].sh_offset + sh[i].sh_size > exe.size ||
                str->sh_offset + str->sh_size > exe.size)
                continue;
            exe.syms = (const Elf64_Sym *)((const char *)exe.map + sh[i].sh_offset);
            exe.nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
            exe.strtab = (const char *)exe.map + str->sh_offset;
            break;
        }
    }
    dl_iterate_phdr(first_object, &exe.bias);
}

static const char *exe_lookup(uint64_t addr)
{
    if (!exe.loaded)
        exe_load();
    for (size_t i = 0; i < exe.nsyms; i++) {
        const Elf64_Sym *s = &exe.syms[i];
        if (ELF64_ST_TYPE(s->st_info) == STT_FUNC && s->st_value &&
            s->st_value + exe.bias == addr && s->st_name)
            return exe.strtab + s->st_name;
    }
    return NULL;
}

void weft__trace_symname(uint64_t addr, char *buf, size_t len)
{
    Dl_info info;
    memset(&info, 0, sizeof info);
    if (dladdr((void *)(uintptr_t)addr, &info) && info.dli_sname &&
        (uint64_t)(uintptr_t)info.dli_saddr == addr) {
        snprintf(buf, len, "%s", info.dli_sname);
        return;
    }
    const char *n = exe_lookup(addr);
    if (n)
        snprintf(buf, len, "%s", n);
    else
        snprintf(buf, len, "0x%llx", (unsigned long long)addr);
}

void weft__trace_sym_fini(void)
{
    if (exe.map)
        munmap(exe.map, exe.size);
    memset(&exe, 0, sizeof exe);
}
