//! Penjualan: recent sales, recording one, undoing one.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct SalesQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    setelah_tanggal: String,
    #[serde(default)]
    setelah_dicatat: String,
    #[serde(default)]
    setelah_id: String,
}

/// Sales on one page of the list.
const SALES_PER_PAGE: usize = 100;
/// Products the sale form suggests while the operator types.
const PICKER_PRODUCTS: usize = 300;

pub(super) async fn sales(
    State(state): State<Shared>,
    op: Operator,
    Query(q): Query<SalesQuery>,
) -> Result<Response, PageError> {
    let after = (!q.setelah_id.is_empty()).then(|| records::SaleCursor {
        date: q.setelah_tanggal.clone(),
        created_at: q.setelah_dicatat.clone(),
        id: q.setelah_id.clone(),
    });
    let needle = q.q.clone();
    let (page, products) = state
        .with_store(move |s, upt, _| {
            Ok((
                records::sales_page(s, upt, &needle, after.as_ref(), SALES_PER_PAGE)?,
                records::recent_products(s, upt, PICKER_PRODUCTS)?,
            ))
        })
        .await?;
    let flash = state.take_flash(&op);
    let shown = pages::SalesList {
        q: &q.q,
        first: q.setelah_id.is_empty(),
        total: page.1,
        next: page.2.as_ref(),
    };
    Ok(html(pages::sales(&op, &page.0, &products, &shown, flash)))
}

#[derive(Deserialize)]
pub(super) struct SaleForm {
    csrf: String,
    produk: String,
    jumlah: String,
    pendapatan: String,
    #[serde(default)]
    tanggal: String,
    #[serde(default)]
    kanal: String,
    /// `ya`: the operator confirmed a sale that takes the stock below zero.
    #[serde(default)]
    yakin: String,
}

pub(super) async fn add_sale(
    State(state): State<Shared>,
    Posted(op, f): Posted<SaleForm>,
) -> Result<Response, PageError> {
    let parsed = (|| -> Result<_, String> {
        let date = if f.tanggal.trim().is_empty() {
            None
        } else {
            Some(
                karya_shared::input::parse_date(&f.tanggal)
                    .map_err(|e| t::field_problem(t::date(), &e))?,
            )
        };
        let channel = if f.kanal.trim().is_empty() {
            None
        } else {
            Some(
                karya_shared::input::match_choice(
                    "channel",
                    &f.kanal,
                    &karya_shared::input::choices_of(karya_shared::model::SaleChannel::NAMES),
                )
                .and_then(|c| c.parse())
                .map_err(|e| t::field_problem(t::channel(), &e.reason))?,
            )
        };
        Ok((
            whole(t::quantity(), &f.jumlah, None)?,
            whole(t::revenue(), &f.pendapatan, None)?,
            date,
            channel,
        ))
    })();
    let typed = vec![
        ("produk".to_string(), f.produk.clone()),
        ("jumlah".to_string(), f.jumlah.clone()),
        ("pendapatan".to_string(), f.pendapatan.clone()),
        ("tanggal".to_string(), f.tanggal.clone()),
        ("kanal".to_string(), f.kanal.clone()),
    ];
    let (qty, revenue, date, channel) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return Ok(state.refuse_keeping(&op, "/penjualan", &e, typed)),
    };
    // A sale takes its quantity from the stock: below zero, the operator is asked first.
    let confirmed = f.yakin == "ya";
    if !confirmed {
        let wanted = f.produk.clone();
        let short = state
            .with_store(move |s, upt, _| {
                let product = records::resolve_product(s, upt, &wanted)?;
                let sale = records::new_sale(product, qty, revenue, date, channel);
                Ok(records::stock_shortfalls(
                    s,
                    upt,
                    std::slice::from_ref(&sale),
                )?)
            })
            .await;
        if let Ok(short) = short
            && !short.is_empty()
        {
            let form = pages::SaleAgain {
                produk: &f.produk,
                jumlah: &f.jumlah,
                pendapatan: &f.pendapatan,
                tanggal: &f.tanggal,
                kanal: &f.kanal,
            };
            return Ok(html(pages::confirm_sale(
                &op,
                &form,
                &records::Shortfall::describe(&short),
            )));
        }
    }
    let add = move |s: &mut Store, upt: &str, _: &Paths| {
        let product = records::resolve_product(s, upt, &f.produk)?;
        let sale = records::new_sale(product, qty, revenue, date, channel);
        records::add_sales(s, upt, std::slice::from_ref(&sale), &[], confirmed)?;
        let stock = records::stock(s, upt, &sale.product_id)?;
        Ok((sale, stock))
    };
    Ok(state
        .change_keeping(&op, "/penjualan", typed, add, |(s, stock)| {
            let mut said = t::sale_recorded(
                &karya_shared::localtime::date(s.date),
                &karya_shared::localtime::thousands(s.quantity),
                &karya_shared::localtime::rupiah(s.revenue_idr),
            );
            said.push(' ');
            said.push_str(&t::stock_now(&karya_shared::localtime::thousands(stock)));
            said
        })
        .await)
}

/// "Batalkan" first shows which sale would go and asks; confirmed, it goes, and the message
/// says which one went.
pub(super) async fn undo_sale(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(op, f): Posted<ConfirmForm>,
) -> Result<Response, PageError> {
    let wanted = id.clone();
    let found = state
        .with_store(move |s, upt, _| Ok(records::sale(s, upt, &wanted)?))
        .await;
    let Ok(line) = found else {
        return Ok(state.refuse(&op, "/penjualan", t::sale_not_found()));
    };
    let what = t::sale_words(
        &karya_shared::localtime::thousands(line.sale.quantity),
        &line.product_name,
        &karya_shared::localtime::date(line.sale.date),
        &karya_shared::localtime::rupiah(line.sale.revenue_idr),
    );
    if !f.confirmed() {
        return Ok(html(pages::confirm(
            &op,
            &pages::Confirm {
                title: t::confirm_undo_title(),
                nav: "/penjualan",
                question: &t::confirm_undo(&what),
                action: &format!("/penjualan/{}/batal", line.sale.id),
                yes: t::yes_undo(),
                back: "/penjualan",
            },
        )));
    }
    let undo = move |s: &mut Store, upt: &str, _: &Paths| Ok(records::remove_sale(s, upt, &id)?);
    Ok(state
        .change(&op, "/penjualan", undo, move |stock| {
            let mut said = t::sale_undone(&what);
            if let Some(stock) = stock {
                said.push(' ');
                said.push_str(&t::stock_back(&karya_shared::localtime::thousands(stock)));
            }
            said
        })
        .await)
}

with_csrf!(SaleForm);
