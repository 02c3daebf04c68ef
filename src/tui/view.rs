//! The whole frame: header, the current screen, status line and footer, with the help
//! overlay on top. Pure: reads the app, writes the frame.

use ratatui::Frame;

use super::app::{App, ScreenId};
use super::layout;
use super::screens::{
    catalog, execution, executions, integrations, mapper, monitor, webhooks, wizard,
};
use super::view_ctx::ViewCtx;
use super::widgets::{footer, header, help, status, too_small};

pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let v = ViewCtx {
        theme: &app.theme,
        keymap: &app.keymap,
        now_ms: app.now.timestamp_millis(),
        offset: *app.now.offset(),
        read_only: app.read_only,
    };
    if layout::too_small(area) {
        too_small::view(&v, frame, area);
        return;
    }
    let a = layout::areas(area);
    header::view(app, &v, frame, a.header);
    match app.screen {
        ScreenId::Integrations => integrations::view::view(&app.integrations, &v, frame, a.body),
        ScreenId::Catalog => catalog::view::view(&app.catalog, &v, frame, a.body),
        ScreenId::Monitor => monitor::view::view(&app.monitor, &v, frame, a.body),
        ScreenId::Executions => executions::view::view(&app.executions, &v, frame, a.body),
        ScreenId::Execution => execution::view::view(&app.execution, &v, frame, a.body),
        ScreenId::Wizard => wizard::view::view(&app.wizard, &v, frame, a.body),
        ScreenId::Mapper => mapper::view::view(&app.mapper, &v, frame, a.body),
        ScreenId::Webhooks => webhooks::view::view(&app.webhooks, &v, frame, a.body),
    }
    status::view(app, &v, frame, a.status);
    footer::view(app, &v, frame, a.footer);
    if app.help {
        help::view(app.scope(), app.help_scroll, &v, frame, area);
    }
}
