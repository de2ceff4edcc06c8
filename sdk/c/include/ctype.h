/* These declarations map to the runtime's libc natives (module "env"); there is no libc to link. */
#ifndef MICRO_RUNTIME_CTYPE_H
#define MICRO_RUNTIME_CTYPE_H

#ifdef __cplusplus
extern "C" {
#endif

int isupper(int c);
int isalpha(int c);
int isspace(int c);
int isgraph(int c);
int isprint(int c);
int isdigit(int c);
int isxdigit(int c);
int tolower(int c);
int toupper(int c);
int isalnum(int c);

#ifdef __cplusplus
}
#endif

#endif /* MICRO_RUNTIME_CTYPE_H */
