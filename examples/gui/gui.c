/*
 * The GUI example: the screen of WAMR's littlevgl sample (a button and two counters) drawn
 * with our own small drawing code on the display natives, without LVGL.
 *
 * The top counter shows whole seconds of app time; the bottom counter counts clicks (a press
 * that starts inside the button and is released inside it). The app has no main and no timer:
 * the host calls gui_init() once, then gui_tick(now_ms) with the app time, so the same time
 * steps and input script give the same frames on every run.
 *
 * Like LVGL, the app reaches most natives through function pointers in a driver structure, so
 * they are called with call_indirect through the app's table.
 */
#include <display.h>

#define SCREEN_W 320
#define SCREEN_H 240

#define COLOR_BG 0xFF1B2631u
#define COLOR_TEXT 0xFFECF0F1u
#define COLOR_SECONDS 0xFFF4D03Fu
#define COLOR_BUTTON 0xFF2E86C1u
#define COLOR_BUTTON_DOWN 0xFF1A5276u
#define COLOR_BORDER 0xFFD6EAF8u

/* Glyph cells: 5x7 pixels plus one column of spacing. */
#define GLYPH_W 5
#define GLYPH_H 7
#define ADVANCE 6

/* The button and the two labels (x, y, scale, width in characters). */
#define BTN_X1 90
#define BTN_Y1 92
#define BTN_X2 229
#define BTN_Y2 151
#define BTN_BORDER 3
#define TOP_X 24
#define TOP_Y 24
#define TOP_SCALE 4
#define TOP_CHARS 8
#define BOTTOM_X 24
#define BOTTOM_Y 184
#define BOTTOM_SCALE 3
#define BOTTOM_CHARS 12
#define BUTTON_TEXT "CLICK"
#define BUTTON_SCALE 3

/* Large enough for the widest label: 8 cells at scale 4 by one glyph row. */
#define LABEL_PIXELS (TOP_CHARS * ADVANCE * TOP_SCALE * GLYPH_H * TOP_SCALE)

/* LVGL-style driver callbacks. Not static, so the compiler cannot fold them into direct calls. */
struct display_driver {
  void (*fill)(int32_t, int32_t, int32_t, int32_t, const display_color_t *);
  void (*map)(int32_t, int32_t, int32_t, int32_t, const display_color_t *);
  void (*vdb_write)(void *, int32_t, int32_t, int32_t, const display_color_t *, int32_t);
  bool (*read)(display_input_t *);
};
struct display_driver gui_driver;

static display_color_t label_buf[LABEL_PIXELS];

/* Rows top to bottom, bit 4 is the leftmost column. */
static const uint8_t FONT_DIGITS[10][GLYPH_H] = {
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, /* 0 */
    {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}, /* 1 */
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, /* 2 */
    {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}, /* 3 */
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, /* 4 */
    {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}, /* 5 */
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, /* 6 */
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* 7 */
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, /* 8 */
    {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}, /* 9 */
};
static const uint8_t GLYPH_C[GLYPH_H] = {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E};
static const uint8_t GLYPH_E[GLYPH_H] = {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F};
static const uint8_t GLYPH_I[GLYPH_H] = {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E};
static const uint8_t GLYPH_K[GLYPH_H] = {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11};
static const uint8_t GLYPH_L[GLYPH_H] = {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F};
static const uint8_t GLYPH_S[GLYPH_H] = {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E};
static const uint8_t GLYPH_BLANK[GLYPH_H] = {0};

static const uint8_t *glyph(char c) {
  if (c >= '0' && c <= '9') return FONT_DIGITS[c - '0'];
  switch (c) {
  case 'C': return GLYPH_C;
  case 'E': return GLYPH_E;
  case 'I': return GLYPH_I;
  case 'K': return GLYPH_K;
  case 'L': return GLYPH_L;
  case 'S': return GLYPH_S;
  default: return GLYPH_BLANK;
  }
}

/* App state. */
static int seconds;
static int clicks;
static bool armed;        /* a press began inside the button and has not been released */
static bool was_pressed;  /* pointer state at the previous input reading */
static int shown_seconds = -1;
static int shown_clicks = -1;
static int shown_armed = -1;

/* Writes prefix followed by the decimal value; returns the length. */
static int format_counter(char *out, int cap, const char *prefix, int value) {
  int n = 0;
  char digits[12];
  int d = 0;
  while (*prefix && n < cap - 1) out[n++] = *prefix++;
  do {
    digits[d++] = (char)('0' + value % 10);
    value /= 10;
  } while (value > 0 && d < (int)sizeof digits);
  while (d > 0 && n < cap - 1) out[n++] = digits[--d];
  out[n] = '\0';
  return n;
}

/*
 * Renders text into label_buf as a w x h image (w = chars * ADVANCE * scale). Glyph pixels go
 * through the display_vdb_write native when via_vdb is set, else they are stored directly.
 */
static void render_text(const char *text, int chars, int scale, display_color_t fg,
                        display_color_t bg, bool via_vdb) {
  int w = chars * ADVANCE * scale;
  int h = GLYPH_H * scale;
  for (int i = 0; i < w * h; i++) label_buf[i] = bg;
  for (int c = 0; c < chars && text[c]; c++) {
    const uint8_t *rows = glyph(text[c]);
    for (int gy = 0; gy < GLYPH_H; gy++) {
      for (int gx = 0; gx < GLYPH_W; gx++) {
        if (!(rows[gy] & (0x10 >> gx))) continue;
        for (int sy = 0; sy < scale; sy++) {
          for (int sx = 0; sx < scale; sx++) {
            int x = (c * ADVANCE + gx) * scale + sx;
            int y = gy * scale + sy;
            if (via_vdb)
              gui_driver.vdb_write(label_buf, w, x, y, &fg, 255);
            else
              label_buf[y * w + x] = fg;
          }
        }
      }
    }
  }
}

static void draw_seconds(void) {
  char text[TOP_CHARS + 1];
  format_counter(text, sizeof text, "SEC ", seconds);
  render_text(text, TOP_CHARS, TOP_SCALE, COLOR_SECONDS, COLOR_BG, false);
  /* A direct call of an import, for contrast with the driver's indirect ones. */
  display_flush(TOP_X, TOP_Y, TOP_X + TOP_CHARS * ADVANCE * TOP_SCALE - 1,
                TOP_Y + GLYPH_H * TOP_SCALE - 1, label_buf);
  shown_seconds = seconds;
}

static void draw_clicks(void) {
  char text[BOTTOM_CHARS + 1];
  format_counter(text, sizeof text, "CLICKS ", clicks);
  render_text(text, BOTTOM_CHARS, BOTTOM_SCALE, COLOR_TEXT, COLOR_BG, false);
  gui_driver.map(BOTTOM_X, BOTTOM_Y, BOTTOM_X + BOTTOM_CHARS * ADVANCE * BOTTOM_SCALE - 1,
                 BOTTOM_Y + GLYPH_H * BOTTOM_SCALE - 1, label_buf);
  shown_clicks = clicks;
}

static void draw_button(void) {
  display_color_t border = COLOR_BORDER;
  display_color_t face = armed ? COLOR_BUTTON_DOWN : COLOR_BUTTON;
  int chars = (int)sizeof BUTTON_TEXT - 1;
  /* The last cell's spacing column is not part of the text's visible width. */
  int text_w = chars * ADVANCE * BUTTON_SCALE;
  int text_h = GLYPH_H * BUTTON_SCALE;
  int tx = (BTN_X1 + BTN_X2 + 1 - (text_w - BUTTON_SCALE)) / 2;
  int ty = (BTN_Y1 + BTN_Y2 + 1 - text_h) / 2;

  gui_driver.fill(BTN_X1, BTN_Y1, BTN_X2, BTN_Y2, &border);
  gui_driver.fill(BTN_X1 + BTN_BORDER, BTN_Y1 + BTN_BORDER, BTN_X2 - BTN_BORDER,
                  BTN_Y2 - BTN_BORDER, &face);
  render_text(BUTTON_TEXT, chars, BUTTON_SCALE, COLOR_TEXT, face, true);
  gui_driver.map(tx, ty, tx + text_w - 1, ty + text_h - 1, label_buf);
  shown_armed = armed;
}

static bool in_button(const display_input_t *in) {
  return in->x >= BTN_X1 && in->x <= BTN_X2 && in->y >= BTN_Y1 && in->y <= BTN_Y2;
}

static void handle_input(const display_input_t *in) {
  bool pressed = in->state == DISPLAY_INPUT_PRESSED;
  if (pressed && !was_pressed && in_button(in)) armed = true;
  if (!pressed && was_pressed) {
    if (armed && in_button(in)) clicks++;
    armed = false;
  }
  was_pressed = pressed;
}

__attribute__((export_name("gui_init"))) void gui_init(void) {
  display_color_t bg = COLOR_BG;

  display_init();
  gui_driver.fill = display_fill;
  gui_driver.map = display_map;
  gui_driver.vdb_write = display_vdb_write;
  gui_driver.read = display_input_read;

  seconds = 0;
  clicks = 0;
  armed = false;
  was_pressed = false;
  gui_driver.fill(0, 0, SCREEN_W - 1, SCREEN_H - 1, &bg);
  draw_seconds();
  draw_button();
  draw_clicks();
}

__attribute__((export_name("gui_tick"))) void gui_tick(int now_ms) {
  display_input_t in = {.user_data = 0};
  bool more;

  if (!gui_driver.read) gui_init(); /* a host that skipped gui_init still gets a screen */

  /* Drain every input reading that is due, like LVGL's buffered read loop. */
  do {
    more = gui_driver.read(&in);
    handle_input(&in);
  } while (more);

  seconds = now_ms < 0 ? 0 : now_ms / 1000;
  if (seconds != shown_seconds) draw_seconds();
  if ((int)armed != shown_armed) draw_button();
  if (clicks != shown_clicks) draw_clicks();
}
