//! The national views and figures: product and training pages, figures per category, per
//! month and per UPT, kept per UPT and brought up to date from the change log.

use super::{HubDb, Result};
use karya_shared::sql::Sql;
use karya_shared::views::{self, Page, ProductFilter, ProductRow, Stats, TrainingRow};
use rusqlite::params;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Trainings of one category and how many of their participants completed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CategoryCompletion {
    pub category: String,
    pub trainings: i64,
    pub participants: i64,
    pub completed: i64,
}

/// A product's sales, for its page.
#[derive(Debug, Clone, Default)]
pub struct ProductSales {
    /// The latest: (date, quantity, revenue, channel).
    pub latest: Vec<(String, i64, i64, String)>,
    pub count: i64,
    pub quantity: i64,
    pub revenue: i64,
}

/// Figures over the whole country (national, per UPT, per category, per month), kept per
/// UPT and brought up to date per UPT: at national scale each is a pass over every product,
/// sale or participant (about a second together on a 2-core machine at 627 × 1,000), and
/// every dashboard page reads some. A figure is kept with the change log's last sequence
/// number when it was computed and used while that number stands; after a change stored, by
/// this process or another on the same database, the next read computes again the rows of
/// the UPTs the change log names since, and sums (per Kanwil, nationally) in memory.
#[derive(Default)]
pub(super) struct Figures(Mutex<HashMap<String, (i64, KeptFigure)>>);

/// A computed figure (its type is the reader's).
pub(super) type KeptFigure = Arc<dyn std::any::Any + Send + Sync>;

impl std::fmt::Debug for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Figures")
    }
}

/// Figures kept at most (kinds × date ranges); past it, all are dropped.
pub(super) const FIGURES_KEPT: usize = 512;

/// Past this many UPTs changed since a figure was kept, it is computed again whole.
pub(super) const UPTS_UPDATED_APART: usize = 200;

/// A figure's rows, per UPT.
pub(super) type PerUpt<P> = HashMap<String, Vec<P>>;

impl HubDb {
    /// A figure's rows per UPT as the data stored now gives them (see [`Figures`]): kept
    /// while no change was stored since; after changes, computed again for the UPTs whose
    /// documents changed only (all of them after a change to `national`, the registry, or
    /// to many UPTs at once). `query` computes the rows of every UPT (`None`) or of those a
    /// JSON list names.
    pub(super) fn per_upt<P: Clone + Send + Sync + 'static>(
        &self,
        key: &str,
        query: impl Fn(&mut Sql<'_>, Option<&str>) -> Result<Vec<(String, P)>>,
    ) -> Result<Arc<PerUpt<P>>> {
        let seq: i64 = self.read(|c| {
            c.query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM change_log",
                params![],
                |r| r.get(0),
            )
        })?;
        let lock = || self.figures.0.lock().unwrap_or_else(|p| p.into_inner());
        let kept = lock()
            .get(key)
            .and_then(|(at, v)| Some((*at, v.clone().downcast::<PerUpt<P>>().ok()?)));
        let group = |rows: Vec<(String, P)>, into: &mut PerUpt<P>| {
            for (upt, row) in rows {
                into.entry(upt).or_default().push(row);
            }
        };
        let updated = match kept {
            Some((at, figure)) if at == seq => return Ok(figure),
            Some((at, figure)) => {
                let changed: Vec<String> = self.read(|c| {
                    c.query_map(
                        "SELECT DISTINCT upt FROM change_log WHERE seq > ?1",
                        [at],
                        |r| r.get(0),
                    )
                })?;
                if changed.iter().any(String::is_empty) || changed.len() > UPTS_UPDATED_APART {
                    None
                } else {
                    let only = serde_json::Value::from(changed.clone()).to_string();
                    let rows = self.read(|c| query(c, Some(&only)))?;
                    let mut figure = (*figure).clone();
                    for upt in &changed {
                        figure.remove(upt);
                    }
                    group(rows, &mut figure);
                    Some(figure)
                }
            }
            None => None,
        };
        let figure = match updated {
            Some(f) => f,
            None => {
                let mut all = PerUpt::new();
                group(self.read(|c| query(c, None))?, &mut all);
                all
            }
        };
        let figure = Arc::new(figure);
        let mut kept = lock();
        if kept.len() >= FIGURES_KEPT {
            kept.clear();
        }
        kept.insert(key.to_string(), (seq, figure.clone()));
        Ok(figure)
    }

    /// The rows of a per-UPT figure of the UPTs in `kanwil` (of all when `None`).
    pub(super) fn within<'a, P>(
        &self,
        figure: &'a PerUpt<P>,
        kanwil: Option<&str>,
    ) -> Result<impl Iterator<Item = &'a P> + use<'a, P>> {
        let inside: Option<std::collections::HashSet<String>> = match kanwil {
            Some(k) => Some(
                self.upt_kanwils()?
                    .into_iter()
                    .filter(|(_, kanwil)| kanwil == k)
                    .map(|(code, _)| code)
                    .collect(),
            ),
            None => None,
        };
        Ok(figure
            .iter()
            .filter(move |(upt, _)| inside.as_ref().is_none_or(|set| set.contains(*upt)))
            .flat_map(|(_, rows)| rows.iter()))
    }

    /// One page of a curation queue (`filter.queue`).
    pub fn queue_page(
        &self,
        filter: &ProductFilter,
        sort: views::QueueSort,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<views::Waiting>> {
        self.read(|c| views::queue_page(c, filter, sort, offset, limit))
    }

    /// How many products wait in each curation queue (of one Kanwil, if given).
    pub fn queue_counts(&self, kanwil: Option<&str>) -> Result<views::QueueCounts> {
        self.read(|c| views::queue_counts(c, kanwil))
    }

    /// The curation recap per Kanwil and UPT (of one Kanwil, if given).
    pub fn recap(&self, kanwil: Option<&str>) -> Result<Vec<views::RecapLine>> {
        self.read(|c| views::recap(c, kanwil))
    }

    pub fn products_page(
        &self,
        filter: &ProductFilter,
        after: Option<&views::ProductCursor>,
        limit: usize,
    ) -> Result<Page<ProductRow, views::ProductCursor>> {
        self.read(|c| views::products_page(c, filter, after, limit))
    }

    /// Up to `limit` products after `after`, and where the next ones start; no count.
    pub fn products_after(
        &self,
        filter: &ProductFilter,
        after: Option<&views::ProductCursor>,
        limit: usize,
    ) -> Result<(Vec<ProductRow>, Option<views::ProductCursor>)> {
        self.read(|c| views::products_after(c, filter, after, limit))
    }

    /// Every product that shares this id, in every UPT (ids are random: usually one).
    pub fn products_by_id(&self, id: &str, upt: Option<&str>) -> Result<Vec<ProductRow>> {
        self.read(|c| views::products_by_id(c, id, upt))
    }

    pub fn trainings_page(
        &self,
        upt: Option<&str>,
        category: Option<&str>,
        kanwil: Option<&str>,
        after: Option<&views::TrainingCursor>,
        limit: usize,
    ) -> Result<Page<TrainingRow, views::TrainingCursor>> {
        self.read(|c| views::trainings_page(c, upt, category, kanwil, after, limit))
    }

    /// Live products per category (most first), within `kanwil` if given.
    pub fn products_per_category(&self, kanwil: Option<&str>) -> Result<Vec<(String, i64)>> {
        let per_upt = self.per_upt("products_per_category", |c, only| {
            let sql = format!(
                "SELECT upt, category, COUNT(*) FROM products WHERE deleted = 0 AND {}
                 GROUP BY upt, category",
                views::only_upts(c, only, "upt", "?1")
            );
            c.query_map(&sql, [only], |r| {
                Ok((r.get(0)?, (r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
            })
        })?;
        let mut sums: HashMap<String, i64> = HashMap::new();
        for (category, n) in self.within(&per_upt, kanwil)? {
            *sums.entry(category.clone()).or_default() += n;
        }
        let mut out: Vec<(String, i64)> = sums.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(out)
    }

    /// Sales per month (`YYYY-MM`, revenue, count) from `since` (a date) to `until`, within
    /// `kanwil` if given. Sales dated after `until` (a wrong clock) are left out.
    pub fn sales_per_month(
        &self,
        since: &str,
        until: &str,
        kanwil: Option<&str>,
    ) -> Result<Vec<(String, i64, i64)>> {
        let per_upt = self.per_upt(&format!("sales_per_month/{since}/{until}"), |c, only| {
            let sql = format!(
                "SELECT upt, substr(date, 1, 7) AS month, {}, COUNT(*)
                 FROM sales WHERE date >= ?1 AND date <= ?2 AND {}
                 GROUP BY upt, month",
                views::total(c, "revenue_idr"),
                views::only_upts(c, only, "upt", "?3")
            );
            c.query_map(&sql, rusqlite::params![since, until, only], |r| {
                Ok((
                    r.get(0)?,
                    (
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                    ),
                ))
            })
        })?;
        let mut sums: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
        for (month, revenue, n) in self.within(&per_upt, kanwil)? {
            let sum = sums.entry(month.clone()).or_default();
            sum.0 = sum.0.saturating_add(*revenue);
            sum.1 += n;
        }
        Ok(sums.into_iter().map(|(m, (r, n))| (m, r, n)).collect())
    }

    /// Per training category, within `kanwil` if given: (category, trainings, participants,
    /// completed), most participants first.
    pub fn completion_per_category(&self, kanwil: Option<&str>) -> Result<Vec<CategoryCompletion>> {
        let per_upt = self.per_upt("completion_per_category", |c, only| {
            let sql = format!(
                "SELECT t.upt, t.category, COUNT(DISTINCT t.id), COUNT(p.pseudonym),
                        COALESCE(SUM(CASE WHEN p.status = 'completed' THEN 1 ELSE 0 END), 0)
                 FROM trainings t LEFT JOIN participants p ON p.upt = t.upt AND p.training_id = t.id
                 WHERE t.deleted = 0 AND {}
                 GROUP BY t.upt, t.category",
                views::only_upts(c, only, "t.upt", "?1")
            );
            c.query_map(&sql, [only], |r| {
                Ok((
                    r.get(0)?,
                    CategoryCompletion {
                        category: r.get(1)?,
                        trainings: r.get(2)?,
                        participants: r.get(3)?,
                        completed: r.get(4)?,
                    },
                ))
            })
        })?;
        let mut sums: HashMap<String, CategoryCompletion> = HashMap::new();
        for c in self.within(&per_upt, kanwil)? {
            let sum = sums
                .entry(c.category.clone())
                .or_insert_with(|| CategoryCompletion {
                    category: c.category.clone(),
                    trainings: 0,
                    participants: 0,
                    completed: 0,
                });
            sum.trainings += c.trainings;
            sum.participants += c.participants;
            sum.completed += c.completed;
        }
        let mut out: Vec<CategoryCompletion> = sums.into_values().collect();
        out.sort_by(|a, b| {
            b.participants
                .cmp(&a.participants)
                .then_with(|| a.category.cmp(&b.category))
        });
        Ok(out)
    }

    /// A product's sales: the latest 20 (date, quantity, revenue, channel), and the totals of
    /// all (count, quantity, revenue). Sales dated after `until` (a wrong clock) are left out.
    pub fn sales_of_product(
        &self,
        upt: &str,
        product_id: &str,
        until: &str,
    ) -> Result<ProductSales> {
        self.read(|c| {
            let latest = c.query_map(
                "SELECT date, quantity, revenue_idr, channel FROM sales
                 WHERE upt = ?1 AND product_id = ?2 AND date <= ?3 ORDER BY date DESC, id LIMIT 20",
                [upt, product_id, until],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let sql = format!(
                "SELECT COUNT(*), COALESCE(SUM(quantity), 0), {}
                 FROM sales WHERE upt = ?1 AND product_id = ?2 AND date <= ?3",
                views::total(c, "revenue_idr")
            );
            let (count, quantity, revenue) = c.query_row(&sql, [upt, product_id, until], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            Ok(ProductSales {
                latest,
                count,
                quantity,
                revenue,
            })
        })
    }

    /// The national figures, per Kanwil and per UPT.
    pub fn stats(&self) -> Result<Stats> {
        // Sales dated after today are counted apart: the figures of one day.
        let per_upt = self.per_upt(&format!("stats/{}", views::future_cutoff().0), |c, only| {
            Ok(views::upt_figures(c, only)?
                .into_iter()
                .map(|f| (f.upt.clone(), f))
                .collect())
        })?;
        Ok(views::stats_of(
            per_upt.values().flatten().cloned().collect(),
        ))
    }

    /// Category slug to the name people read.
    pub fn product_categories(&self) -> Result<std::collections::HashMap<String, String>> {
        Ok(self
            .read(|c| {
                c.query_map(
                    "SELECT slug, name FROM categories WHERE kind = 'product'",
                    params![],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })?
            .into_iter()
            .collect())
    }
}
